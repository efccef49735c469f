#include "broker/topics/registry.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "proto/codec/names.h"

namespace ferry::broker {
namespace {

constexpr int64_t max_ack_timeout_ms = 24LL * 3600 * 1000;
constexpr int64_t max_ttl_ms = 100LL * 365 * 24 * 3600 * 1000;  // beyond this, "forever"

}  // namespace

registry::registry(const clock& clk, registry_config cfg, log_port* port)
    : clock_(clk), cfg_(cfg), log_port_(port) {
  int64_t low = cfg_.memory_low_watermark_bytes;
  if (low <= 0 || low > cfg_.memory_high_watermark_bytes)
    low = cfg_.memory_high_watermark_bytes / 10 * 8;
  memory_.set_limits(cfg_.memory_high_watermark_bytes, low);
  begin_event();
  last_producer_sweep_ = now_;
}

registry::~registry() {
  for (auto& [name, s] : subscriptions_)
    s->cancel_consumers(errc::shutting_down, "broker stopping");
  for (auto& [name, t] : log_topics_)
    t->cancel_readers(errc::shutting_down, "broker stopping");
}

// ---- recovery ----

ferry::error registry::load(storage::meta_store& meta, storage::log_store* log) {
  ferry::error bad;
  auto err = meta.scan("topic/", [&](std::string_view key, std::string_view value) {
    v1::TopicInfo rec;
    if (bad) return;
    if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
        !names::check_name(rec.name()).empty()) {
      bad = fail(errc::storage_error, "unreadable topic record " + quoted(key));
      return;
    }
    if (rec.kind() == v1::LOG) {
      if (log_port_ == nullptr || log == nullptr) {
        bad = fail(errc::storage_error,
                   "log topic " + quoted(rec.name()) + " found without log storage");
        return;
      }
      auto t = std::make_unique<log_topic>(rec.name(), rec.topic_id(), rec.options(), *log_port_,
                                           clock_, cfg_.log);
      if (auto e = t->recover(*log)) {
        bad = e;
        return;
      }
      next_topic_id_ = std::max(next_topic_id_, rec.topic_id() + 1);
      log_topics_.emplace(rec.name(), std::move(t));
      return;
    }
    auto t = std::make_unique<memory_topic>(rec.name(), rec.options(), 0);
    topics_.emplace(rec.name(), std::move(t));
  });
  if (!err && !bad) {
    // Topic ids are never reused, even after the newest log topic was deleted.
    err = meta.scan("counter/topic_id", [&](std::string_view, std::string_view v) {
      uint32_t next = 0;
      if (v.size() == 4) std::memcpy(&next, v.data(), 4);
      next_topic_id_ = std::max(next_topic_id_, next);
    });
  }
  if (err) return err;
  if (bad) return bad;
  err = meta.scan("sub/", [&](std::string_view key, std::string_view value) {
    v1::SubscriptionInfo rec;
    subscription_options o;
    if (bad) return;
    if (!rec.ParseFromArray(value.data(), static_cast<int>(value.size())) ||
        !names::check_name(rec.name()).empty() || !names::check_pattern(rec.pattern()).empty() ||
        resolve(rec.options(), o)) {
      bad = fail(errc::storage_error, "unreadable subscription record " + quoted(key));
      return;
    }
    requested_options_[rec.name()] = rec.options();
    add_subscription(rec.name(), rec.pattern(), std::move(o), false);
  });
  if (err) return err;
  if (bad) return bad;
  if (auto e = load_groups(meta)) return e;
  log::topics().info("recovered {} memory topics, {} log topics and {} subscriptions",
                     topics_.size(), log_topics_.size(), subscriptions_.size());
  return {};
}

// ---- topics ----

ferry::error registry::create_topic(const v1::CreateTopic& req, uint64_t owner_session,
                                    v1::TopicInfo& info, meta_changes& changes) {
  if (auto why = names::check_name(req.name()); !why.empty())
    return fail(errc::invalid_name, "topic name " + quoted(req.name()) + ": " + why);
  if (req.kind() == v1::LOG) return create_log_topic(req, info, changes);
  if (req.kind() != v1::MEMORY) return fail(errc::invalid_argument, "unknown topic kind");
  if (find_log_topic(req.name()) != nullptr)
    return fail(errc::topic_exists,
                "topic " + quoted(req.name()) + " already exists as a log topic");
  const auto& o = req.options();
  if (o.partitions() > 1)
    return fail(errc::invalid_argument, "partitions apply to log topics only");
  if (o.message_ttl_ms() > static_cast<uint64_t>(max_ttl_ms))
    return fail(errc::invalid_argument, "message_ttl_ms is above 100 years");
  if (auto* existing = find_topic(req.name())) return answer_existing(*existing, o, req, info);
  auto t = std::make_unique<memory_topic>(req.name(), o, o.temporary() ? owner_session : 0);
  auto& ref = *t;
  topics_.emplace(req.name(), std::move(t));
  route_new_topic(ref);
  if (!ref.temporary()) changes.push_back({topic_key(ref.name()), topic_record(ref)});
  describe(ref, info);
  log::topics().info("topic {} created (memory{})", ref.name(),
                     ref.temporary() ? ", temporary" : "");
  return {};
}

void registry::route_new_topic(memory_topic& t) {
  for (auto& [name, s] : subscriptions_)
    if (names::matches(s->pattern(), t.name())) t.subscriptions().push_back(s.get());
}

ferry::error registry::delete_topic(std::string_view name, bool if_exists, bool& deleted,
                                    meta_changes& changes) {
  deleted = false;
  if (find_log_topic(name) != nullptr) {
    delete_log_topic(name, changes);
    deleted = true;
    return {};
  }
  auto it = topics_.find(name);
  if (it == topics_.end()) {
    if (if_exists) return {};
    return fail(errc::topic_not_found, "topic " + quoted(name) + " does not exist");
  }
  // Subscriptions on exactly this name go with it.
  std::vector<std::string> doomed;
  for (auto& [sname, s] : subscriptions_)
    if (s->pattern() == name) doomed.push_back(sname);
  for (const auto& sname : doomed) {
    auto* s = subscriptions_.at(sname).get();
    if (!s->ephemeral()) changes.push_back({subscription_key(sname), std::nullopt});
    s->cancel_consumers(errc::topic_not_found, "topic " + quoted(name) + " was deleted");
    erase_subscription(sname);
  }
  if (!it->second->temporary()) changes.push_back({topic_key(name), std::nullopt});
  log::topics().info("topic {} deleted ({} subscriptions with it)", name, doomed.size());
  topics_.erase(it);
  deleted = true;
  return {};
}

memory_topic* registry::find_topic(std::string_view name) {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

void registry::describe(const memory_topic& t, v1::TopicInfo& out) const {
  out.set_name(t.name());
  out.set_kind(v1::MEMORY);
  *out.mutable_options() = t.options();
  out.set_messages_published(t.published);
  out.clear_subscriptions();
  for (const auto* s : t.subscriptions())
    out.add_subscriptions(s->name());
  out.set_producers(t.producer_count());
}

void registry::list_topics(std::string_view pattern, v1::TopicList& out) const {
  // Both kinds, in name order.
  auto m = topics_.begin();
  auto l = log_topics_.begin();
  while (m != topics_.end() || l != log_topics_.end()) {
    bool memory = l == log_topics_.end() || (m != topics_.end() && m->first < l->first);
    const std::string& name = memory ? m->first : l->first;
    if (pattern.empty() || names::matches(pattern, name)) {
      if (memory) {
        describe(*m->second, *out.add_topics());
      } else {
        describe(*l->second, *out.add_topics());
      }
    }
    if (memory) {
      ++m;
    } else {
      ++l;
    }
  }
}

void registry::session_closed(uint64_t session_id) {
  std::vector<std::string> doomed;
  for (const auto& [name, t] : topics_)
    if (t->owner_session() == session_id) doomed.push_back(name);
  for (const auto& name : doomed) {
    bool deleted;
    meta_changes ignored;  // temporary topics and their subscriptions are never persisted
    (void)delete_topic(name, true, deleted, ignored);
  }
}

// ---- subscriptions ----

ferry::error registry::resolve(const v1::SubscriptionOptions& in, subscription_options& out) const {
  out.max_deliveries = in.max_deliveries() != 0 ? in.max_deliveries() : cfg_.default_max_deliveries;
  out.ack_timeout_ms = in.ack_timeout_ms() != 0 ? in.ack_timeout_ms() : cfg_.default_ack_timeout_ms;
  if (out.ack_timeout_ms > max_ack_timeout_ms)
    return fail(errc::invalid_argument, "ack_timeout_ms is above 24 hours");
  out.max_messages = in.max_messages();
  out.max_bytes = in.max_bytes();
  if (in.overflow() != v1::DROP_OLDEST && in.overflow() != v1::REJECT_PUBLISH)
    return fail(errc::invalid_argument, "unknown overflow policy " + std::to_string(in.overflow()));
  out.reject_publish = in.overflow() == v1::REJECT_PUBLISH;
  out.dead_letter_topic = in.dead_letter_topic();
  if (!out.dead_letter_topic.empty()) {
    if (auto why = names::check_name(out.dead_letter_topic); !why.empty())
      return fail(errc::invalid_name,
                  "dead_letter_topic " + quoted(out.dead_letter_topic) + ": " + why);
  }
  return {};
}

ferry::error registry::check_subscription_target(std::string_view pattern,
                                                 const subscription_options& o) const {
  if (!names::is_wildcard(pattern) && log_topics_.contains(pattern))
    return fail(errc::wrong_topic_kind,
                "topic " + quoted(pattern) +
                    " is a log topic: read it with ConsumeLog, not a subscription");
  if (!names::is_wildcard(pattern) && !topics_.contains(pattern))
    return fail(errc::topic_not_found, "topic " + quoted(pattern) + " does not exist");
  if (!o.dead_letter_topic.empty() && !topics_.contains(o.dead_letter_topic))
    return fail(errc::topic_not_found,
                "dead-letter topic " + quoted(o.dead_letter_topic) + " does not exist");
  return {};
}

ferry::error registry::create_subscription(const v1::CreateSubscription& req,
                                           v1::SubscriptionInfo& info, meta_changes& changes) {
  if (auto why = names::check_name(req.name()); !why.empty())
    return fail(errc::invalid_name, "subscription name " + quoted(req.name()) + ": " + why);
  if (auto why = names::check_pattern(req.pattern()); !why.empty())
    return fail(errc::invalid_pattern, "pattern " + quoted(req.pattern()) + ": " + why);
  subscription_options o;
  if (auto err = resolve(req.options(), o)) return err;
  if (auto* existing = find_subscription(req.name())) {
    // Compared after defaults are applied: {} and {ack_timeout_ms: <the default>} are the same.
    bool same =
        !existing->ephemeral() && existing->pattern() == req.pattern() && existing->options() == o;
    if (req.if_not_exists() && same) {
      describe(*existing, info);
      return {};
    }
    return fail(errc::subscription_exists,
                "subscription " + quoted(req.name()) + " already exists" +
                    (same ? "" : " with a different pattern or options"));
  }
  if (auto err = check_subscription_target(req.pattern(), o)) return err;
  if (auto* t = find_topic(req.pattern()); t != nullptr && t->temporary())
    return fail(errc::invalid_argument,
                "topic " + quoted(req.pattern()) +
                    " is temporary: only ephemeral subscriptions may name it");
  requested_options_[req.name()] = req.options();
  auto* s = add_subscription(req.name(), req.pattern(), std::move(o), false);
  changes.push_back({subscription_key(s->name()), subscription_record(*s, req.options())});
  describe(*s, info);
  log::topics().info("subscription {} created on {}", s->name(), s->pattern());
  return {};
}

subscription* registry::add_subscription(std::string name, std::string pattern,
                                         subscription_options o, bool ephemeral) {
  auto s = std::make_unique<subscription>(name, std::move(pattern), std::move(o), ephemeral, *this);
  auto* raw = s.get();
  subscriptions_.emplace(std::move(name), std::move(s));
  for (auto& [tname, t] : topics_)
    if (names::matches(raw->pattern(), tname)) t->subscriptions().push_back(raw);
  return raw;
}

void registry::erase_subscription(const std::string& name) {
  auto it = subscriptions_.find(name);
  auto* raw = it->second.get();
  for (auto& [tname, t] : topics_)
    std::erase(t->subscriptions(), raw);
  requested_options_.erase(name);
  subscriptions_.erase(it);
}

ferry::error registry::delete_subscription(std::string_view name, bool if_exists, bool& deleted,
                                           meta_changes& changes) {
  deleted = false;
  auto* s = find_subscription(name);
  if (s == nullptr || s->ephemeral()) {
    if (if_exists) return {};
    return fail(errc::subscription_not_found, "subscription " + quoted(name) + " does not exist");
  }
  std::string key(name);
  s->cancel_consumers(errc::subscription_not_found,
                      "subscription " + quoted(name) + " was deleted");
  changes.push_back({subscription_key(key), std::nullopt});
  erase_subscription(key);
  log::topics().info("subscription {} deleted", key);
  deleted = true;
  return {};
}

ferry::error registry::create_ephemeral(std::string_view pattern,
                                        const v1::SubscriptionOptions& opts, subscription*& out) {
  if (auto why = names::check_pattern(pattern); !why.empty())
    return fail(errc::invalid_pattern, "pattern " + quoted(pattern) + ": " + why);
  subscription_options o;
  if (auto err = resolve(opts, o)) return err;
  if (auto err = check_subscription_target(pattern, o)) return err;
  std::string name;
  do {
    name = "_ephemeral." + std::to_string(next_ephemeral_++);
  } while (subscriptions_.contains(name));
  out = add_subscription(std::move(name), std::string(pattern), std::move(o), true);
  return {};
}

void registry::remove_ephemeral(subscription* s) {
  FERRY_ASSERT(s->ephemeral() && s->consumers().empty(), "removing a live subscription");
  erase_subscription(s->name());
}

subscription* registry::find_subscription(std::string_view name) {
  auto it = subscriptions_.find(name);
  return it == subscriptions_.end() ? nullptr : it->second.get();
}

void registry::describe(const subscription& s, v1::SubscriptionInfo& out) const {
  out.set_name(s.name());
  out.set_pattern(s.pattern());
  const auto& o = s.options();
  auto* oo = out.mutable_options();
  oo->set_max_deliveries(o.max_deliveries);
  oo->set_ack_timeout_ms(static_cast<uint32_t>(o.ack_timeout_ms));
  oo->set_max_messages(o.max_messages);
  oo->set_max_bytes(o.max_bytes);
  oo->set_overflow(o.reject_publish ? v1::REJECT_PUBLISH : v1::DROP_OLDEST);
  oo->set_dead_letter_topic(o.dead_letter_topic);
  out.set_ephemeral(s.ephemeral());
  out.set_ready(s.ready_count());
  out.set_ready_bytes(s.ready_bytes());
  out.set_unacked(s.in_flight_count());
  out.set_consumers(static_cast<uint32_t>(s.consumers().size()));
  const auto& st = s.stats();
  out.set_delivered(st.delivered);
  out.set_acked(st.acked);
  out.set_redelivered(st.redelivered);
  out.set_dead_lettered(st.dead_lettered);
  out.set_dropped(st.dropped);
  out.set_expired(st.expired);
}

void registry::list_subscriptions(std::string_view topic, v1::SubscriptionList& out) const {
  bool as_topic = !topic.empty() && names::check_name(topic).empty();
  for (const auto& [name, s] : subscriptions_) {
    if (topic.empty() || s->pattern() == topic || (as_topic && names::matches(s->pattern(), topic)))
      describe(*s, *out.add_subscriptions());
  }
}

std::string registry::topic_record(const memory_topic& t) const {
  v1::TopicInfo rec;
  rec.set_name(t.name());
  rec.set_kind(v1::MEMORY);
  *rec.mutable_options() = t.options();
  return rec.SerializeAsString();
}

std::string registry::subscription_record(const subscription& s,
                                          const v1::SubscriptionOptions& o) const {
  v1::SubscriptionInfo rec;
  rec.set_name(s.name());
  rec.set_pattern(s.pattern());
  *rec.mutable_options() = o;
  return rec.SerializeAsString();
}

}  // namespace ferry::broker
