// The registry's log topics: creation with a stable id, deletion, description.
#include <cstring>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/topics/registry.h"
#include "proto/codec/names.h"

namespace ferry::broker {
log_topic* registry::find_log_topic(std::string_view name) {
  auto it = log_topics_.find(name);
  return it == log_topics_.end() ? nullptr : it->second.get();
}

ferry::error registry::check_log_options(const v1::TopicOptions& o) const {
  if (o.partitions() > cfg_.max_partitions)
    return fail(errc::invalid_argument, "partitions " + std::to_string(o.partitions()) +
                                            " is above the maximum of " +
                                            std::to_string(cfg_.max_partitions));
  if (o.fsync() != v1::FSYNC_ALWAYS && o.fsync() != v1::FSYNC_INTERVAL &&
      o.fsync() != v1::FSYNC_NEVER)
    return fail(errc::invalid_argument, "unknown fsync policy " + std::to_string(o.fsync()));
  if (o.fsync() == v1::FSYNC_INTERVAL && o.fsync_interval_ms() == 0)
    return fail(errc::invalid_argument, "fsync: interval needs fsync_interval_ms above 0");
  if (o.retention_ms() < -1 || o.retention_bytes() < -1)
    return fail(errc::invalid_argument,
                "retention_ms and retention_bytes are -1 (forever), 0 "
                "(the broker default) or positive");
  if (o.temporary()) return fail(errc::invalid_argument, "log topics cannot be temporary");
  if (o.message_ttl_ms() != 0)
    return fail(errc::invalid_argument,
                "message_ttl_ms applies to memory topics; log topics use retention_ms");
  return {};
}

ferry::error registry::create_log_topic(const v1::CreateTopic& req, v1::TopicInfo& info,
                                        meta_changes& changes) {
  if (log_port_ == nullptr) return fail(errc::not_supported, "this broker has no log storage");
  v1::TopicOptions o = req.options();
  if (o.partitions() == 0) o.set_partitions(1);
  if (auto err = check_log_options(o)) return err;
  if (auto* existing = find_log_topic(req.name())) return answer_existing(*existing, o, req, info);
  if (find_topic(req.name()) != nullptr)
    return fail(errc::topic_exists,
                "topic " + quoted(req.name()) + " already exists as a memory topic");
  uint32_t id = next_topic_id_++;
  auto t = std::make_unique<log_topic>(req.name(), id, o, *log_port_, clock_, cfg_.log);
  auto& ref = *t;
  log_topics_.emplace(req.name(), std::move(t));
  describe(ref, info);
  v1::TopicInfo rec;
  rec.set_name(ref.name());
  rec.set_kind(v1::LOG);
  rec.set_topic_id(id);
  *rec.mutable_options() = o;
  changes.push_back({topic_key(ref.name()), rec.SerializeAsString()});
  std::string counter(4, '\0');
  std::memcpy(counter.data(), &next_topic_id_, 4);
  changes.push_back({"counter/topic_id", counter});
  log::topics().info("topic {} created (log, {} partitions, id {})", ref.name(),
                     ref.partition_count(), id);
  return {};
}

void registry::delete_log_topic(std::string_view name, meta_changes& changes) {
  auto it = log_topics_.find(name);
  // Its groups go with it: members are cancelled below as readers of the topic.
  for (auto g = groups_.begin(); g != groups_.end();) {
    if (g->second->topic() != name) {
      ++g;
      continue;
    }
    for (const auto& m : g->second->members())
      m.c->set_group(nullptr);
    for (const auto& [p, off] : g->second->committed())
      changes.push_back({"offset/" + g->first + "/" + std::to_string(p), std::nullopt});
    changes.push_back({"group/" + g->first, std::nullopt});
    g = groups_.erase(g);
  }
  it->second->cancel_readers(errc::topic_not_found, "topic " + quoted(name) + " was deleted");
  it->second->drop_storage();
  changes.push_back({topic_key(name), std::nullopt});
  log::topics().info("topic {} deleted (log)", name);
  log_topics_.erase(it);
}

void registry::describe(const log_topic& t, v1::TopicInfo& out) const {
  t.describe(out);
  out.set_topic_id(t.id());
}

}  // namespace ferry::broker
