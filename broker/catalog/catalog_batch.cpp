#include "broker/catalog/catalog.h"
#include "storage/meta_keys.h"

namespace ferry::broker {

namespace keys = storage::meta_keys;

void catalog_batch::put_topic(const v1::TopicInfo& t) {
  v1::TopicInfo rec;
  rec.set_name(t.name());
  rec.set_kind(t.kind());
  *rec.mutable_options() = t.options();
  rec.set_topic_id(t.topic_id());
  changes_.push_back({keys::topic(t.name()), rec.SerializeAsString()});
}

void catalog_batch::erase_topic(std::string_view name) {
  changes_.push_back({keys::topic(name), std::nullopt});
}

void catalog_batch::put_subscription(const v1::SubscriptionInfo& s) {
  v1::SubscriptionInfo rec;
  rec.set_name(s.name());
  rec.set_pattern(s.pattern());
  *rec.mutable_options() = s.options();
  changes_.push_back({keys::subscription(s.name()), rec.SerializeAsString()});
}

void catalog_batch::erase_subscription(std::string_view name) {
  changes_.push_back({keys::subscription(name), std::nullopt});
}

void catalog_batch::put_share_state(std::string_view subscription, uint32_t partition,
                                    std::string state) {
  changes_.push_back({keys::share(subscription, partition), std::move(state)});
}

void catalog_batch::erase_share_state(std::string_view subscription, uint32_t partitions) {
  for (uint32_t p = 0; p < partitions; ++p)
    changes_.push_back({keys::share(subscription, p), std::nullopt});
}

void catalog_batch::put_group(std::string_view group, std::string_view topic) {
  changes_.push_back({keys::group(group), std::string(topic)});
}

void catalog_batch::put_offset(std::string_view group, uint32_t partition, uint64_t offset) {
  changes_.push_back({keys::offset(group, partition), keys::encode_u64(offset)});
}

void catalog_batch::erase_group(std::string_view group, const std::vector<uint32_t>& partitions) {
  for (uint32_t p : partitions)
    changes_.push_back({keys::offset(group, p), std::nullopt});
  changes_.push_back({keys::group(group), std::nullopt});
}

void catalog_batch::put_next_topic_id(uint32_t next) {
  changes_.push_back({std::string(keys::topic_id_counter), keys::encode_u32(next)});
}

void catalog_batch::put_user(const v1::UserRecord& u) {
  changes_.push_back({keys::user(u.info().name()), u.SerializeAsString()});
}

void catalog_batch::erase_user(std::string_view name) {
  changes_.push_back({keys::user(name), std::nullopt});
}

void catalog_batch::put_token(const v1::TokenRecord& t) {
  changes_.push_back({keys::token(t.info().id()), t.SerializeAsString()});
}

void catalog_batch::erase_token(std::string_view id) {
  changes_.push_back({keys::token(id), std::nullopt});
}

void catalog_batch::put_acl(std::string_view rule_id, const v1::AclRule& rule) {
  changes_.push_back({keys::acl(rule_id), rule.SerializeAsString()});
}

void catalog_batch::erase_acl(std::string_view rule_id) {
  changes_.push_back({keys::acl(rule_id), std::nullopt});
}

void catalog_batch::expect_no_topic(std::string_view name) {
  preconditions_.push_back({keys::topic(name), 0});
}

void catalog_batch::expect_no_subscription(std::string_view name) {
  preconditions_.push_back({keys::subscription(name), 0});
}

bool catalog_batch::keep_erasures() {
  std::erase_if(changes_, [](const storage::meta_change& c) { return c.value.has_value(); });
  preconditions_.clear();
  return !changes_.empty();
}

void for_each_topic_change(const catalog_batch& b,
                           const std::function<void(std::string_view, const v1::TopicInfo*)>& fn) {
  for (const auto& c : b.changes()) {
    if (!c.key.starts_with(keys::topic_prefix)) continue;
    const std::string_view name = keys::name_of(c.key, keys::topic_prefix);
    if (!c.value) {
      fn(name, nullptr);
      continue;
    }
    v1::TopicInfo def;
    if (def.ParseFromString(*c.value)) fn(name, &def);
  }
}

}  // namespace ferry::broker
