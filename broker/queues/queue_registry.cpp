#include "broker/queues/queue_registry.h"

#include <algorithm>

#include "broker/core/log.h"
#include "broker/topics/publish_checks.h"
#include "proto/codec/names.h"

namespace ferry::broker {
namespace {

constexpr int64_t max_ack_timeout_ms = 24LL * 3600 * 1000;

}  // namespace

queue_registry::queue_registry(const loop_clock& clock, queue_settings settings)
    : clock_(clock), settings_(settings), last_producer_sweep_(clock.now()) {
  memory_.set_limits(settings_.memory_high_watermark_bytes, settings_.low_watermark());
}

queue_registry::~queue_registry() {
  for (auto& [name, s] : subscriptions_)
    s->cancel_consumers(errc::shutting_down, "broker stopping");
}

// ---- recovery ----

ferry::error queue_registry::recover(const catalog_snapshot& snap) {
  for (const auto& rec : snap.topics)
    if (rec.kind() == v1::MEMORY)
      topics_.emplace(rec.name(),
                      std::make_unique<memory_topic>(rec.name(), rec.options(), 0, ctx_));
  for (const auto& rec : snap.subscriptions) {
    subscription_options o;
    if (!names::check_pattern(rec.pattern()).empty() || resolve(rec.options(), o))
      return fail(errc::storage_error, "unreadable subscription record " + quoted(rec.name()));
    std::unique_ptr<subscription_feed> feed;
    if (feeds_ != nullptr && !names::is_wildcard(rec.pattern()) && !topics_.contains(rec.pattern()))
      if (auto err = feeds_->make(rec.name(), rec.pattern(), o, true, feed)) return err;
    requested_options_[rec.name()] = rec.options();
    add_subscription(rec.name(), rec.pattern(), std::move(o), false, std::move(feed));
  }
  log::queues().info("recovered {} memory topics and {} subscriptions", topics_.size(),
                     subscriptions_.size());
  return {};
}

// ---- topics ----

ferry::error queue_registry::create(const v1::CreateTopic& req, uint64_t owner_session,
                                    const topic* other_kind, v1::TopicInfo& info,
                                    catalog_batch& b) {
  if (other_kind != nullptr)
    return fail(errc::topic_exists,
                "topic " + quoted(req.name()) + " already exists as a log topic");
  const auto& o = req.options();
  if (o.partitions() > 1)
    return fail(errc::invalid_argument, "partitions apply to log topics only");
  if (o.message_ttl_ms() > static_cast<uint64_t>(max_ttl_ms))
    return fail(errc::invalid_argument, "message_ttl_ms is above 100 years");
  if (auto* existing = find(req.name())) return answer_existing(*existing, req, info);
  auto t = std::make_unique<memory_topic>(req.name(), o, o.temporary() ? owner_session : 0, ctx_);
  auto& ref = *t;
  topics_.emplace(req.name(), std::move(t));
  route_new_topic(ref);
  ref.describe(info);
  if (!ref.temporary()) {
    b.expect_no_topic(ref.name());
    b.put_topic(info);
  }
  log::queues().info("topic {} created (memory{})", ref.name(),
                     ref.temporary() ? ", temporary" : "");
  return {};
}

ferry::error queue_registry::answer_existing(const memory_topic& existing,
                                             const v1::CreateTopic& req,
                                             v1::TopicInfo& info) const {
  bool same = existing.options().SerializeAsString() == req.options().SerializeAsString();
  if (req.if_not_exists() && same) {
    existing.describe(info);
    return {};
  }
  return fail(errc::topic_exists, "topic " + quoted(req.name()) + " already exists" +
                                      (same ? "" : " with different options"));
}

void queue_registry::route_new_topic(memory_topic& t) {
  for (auto& [name, s] : subscriptions_)
    if (names::matches(s->pattern(), t.name())) t.subscriptions().push_back(s.get());
}

void queue_registry::remove(std::string_view name, catalog_batch& b) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return;
  remove_subscriptions_on(name, b);
  if (!it->second->temporary()) b.erase_topic(name);
  log::queues().info("topic {} deleted", name);
  topics_.erase(it);
}

void queue_registry::remove_subscriptions_on(std::string_view name, catalog_batch& b) {
  std::vector<std::string> doomed;
  for (auto& [sname, s] : subscriptions_)
    if (s->pattern() == name) doomed.push_back(sname);
  for (const auto& sname : doomed) {
    auto* s = subscriptions_.at(sname).get();
    if (!s->ephemeral()) b.erase_subscription(sname);
    if (auto* f = feed_of(sname)) f->erase_state(b);
    s->cancel_consumers(errc::topic_not_found, "topic " + quoted(name) + " was deleted");
    erase_subscription(sname);
    log::queues().info("subscription {} deleted with topic {}", sname, name);
  }
}

memory_topic* queue_registry::find(std::string_view name) {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

void queue_registry::for_each(const std::function<void(const topic&)>& fn) const {
  for (const auto& [name, t] : topics_)
    fn(*t);
}

void queue_registry::session_closed(uint64_t session_id) {
  std::vector<std::string> doomed;
  for (const auto& [name, t] : topics_)
    if (t->owner_session() == session_id) doomed.push_back(name);
  for (const auto& name : doomed) {
    catalog_batch ignored;  // temporary topics and their subscriptions are never stored
    remove(name, ignored);
  }
}

// ---- subscriptions ----

ferry::error queue_registry::resolve(const v1::SubscriptionOptions& in,
                                     subscription_options& out) const {
  out.max_deliveries =
      in.max_deliveries() != 0 ? in.max_deliveries() : settings_.default_max_deliveries;
  out.ack_timeout_ms =
      in.ack_timeout_ms() != 0 ? in.ack_timeout_ms() : settings_.default_ack_timeout_ms;
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

ferry::error queue_registry::check_subscription_target(std::string_view pattern,
                                                       const topic* other_kind,
                                                       const subscription_options& o) const {
  if (!names::is_wildcard(pattern) && other_kind != nullptr)
    return fail(errc::wrong_topic_kind,
                "topic " + quoted(pattern) +
                    " is a log topic: read it with ConsumeLog, or through a named (durable) "
                    "subscription");
  if (!names::is_wildcard(pattern) && !topics_.contains(pattern))
    return fail(errc::topic_not_found, "topic " + quoted(pattern) + " does not exist");
  if (!o.dead_letter_topic.empty() && !topics_.contains(o.dead_letter_topic))
    return fail(errc::topic_not_found,
                "dead-letter topic " + quoted(o.dead_letter_topic) + " does not exist");
  return {};
}

ferry::error queue_registry::create_subscription(const v1::CreateSubscription& req,
                                                 const topic* other_kind,
                                                 v1::SubscriptionInfo& info, catalog_batch& b) {
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
  std::unique_ptr<subscription_feed> feed;
  if (other_kind != nullptr && feeds_ != nullptr && !names::is_wildcard(req.pattern())) {
    if (auto err = feeds_->make(req.name(), req.pattern(), o, false, feed)) return err;
  } else if (auto err = check_subscription_target(req.pattern(), other_kind, o)) {
    return err;
  }
  if (auto* t = find(req.pattern()); t != nullptr && t->temporary())
    return fail(errc::invalid_argument,
                "topic " + quoted(req.pattern()) +
                    " is temporary: only ephemeral subscriptions may name it");
  requested_options_[req.name()] = req.options();
  auto* s = add_subscription(req.name(), req.pattern(), std::move(o), false, std::move(feed));
  v1::SubscriptionInfo rec;
  rec.set_name(s->name());
  rec.set_pattern(s->pattern());
  *rec.mutable_options() = req.options();
  b.expect_no_subscription(s->name());
  b.put_subscription(rec);
  if (auto* f = feed_of(s->name())) f->record_state(b);
  describe(*s, info);
  log::queues().info("subscription {} created on {}", s->name(), s->pattern());
  return {};
}

subscription* queue_registry::add_subscription(std::string name, std::string pattern,
                                               subscription_options o, bool ephemeral,
                                               std::unique_ptr<subscription_feed> feed) {
  subscription_env& env = feed ? static_cast<subscription_env&>(*feed) : *this;
  auto s = std::make_unique<subscription>(name, std::move(pattern), std::move(o), ephemeral, env);
  auto* raw = s.get();
  subscriptions_.emplace(name, std::move(s));
  if (feed) {
    feed->start(*raw);
    feeds_by_name_.emplace(std::move(name), std::move(feed));
    return raw;
  }
  for (auto& [tname, t] : topics_)
    if (names::matches(raw->pattern(), tname)) t->subscriptions().push_back(raw);
  return raw;
}

void queue_registry::erase_subscription(const std::string& name) {
  auto it = subscriptions_.find(name);
  auto* raw = it->second.get();
  for (auto& [tname, t] : topics_)
    std::erase(t->subscriptions(), raw);
  requested_options_.erase(name);
  subscriptions_.erase(it);
  feeds_by_name_.erase(name);
}

subscription_feed* queue_registry::feed_of(std::string_view subscription) const {
  auto it = feeds_by_name_.find(subscription);
  return it == feeds_by_name_.end() ? nullptr : it->second.get();
}

ferry::error queue_registry::set_push(std::string_view name, const v1::PushEndpoint& push,
                                      catalog_batch& b, v1::SubscriptionInfo& info) {
  auto* s = find_subscription(name);
  if (s == nullptr || s->ephemeral())
    return fail(errc::subscription_not_found, "subscription " + quoted(name) + " does not exist");
  auto& options = requested_options_[s->name()];
  if (push.url().empty()) {
    options.clear_push();
  } else {
    *options.mutable_push() = push;
  }
  v1::SubscriptionInfo rec;
  rec.set_name(s->name());
  rec.set_pattern(s->pattern());
  *rec.mutable_options() = options;
  b.put_subscription(rec);
  describe(*s, info);
  return {};
}

ferry::error queue_registry::delete_subscription(std::string_view name, bool if_exists,
                                                 bool& deleted, catalog_batch& b) {
  deleted = false;
  auto* s = find_subscription(name);
  if (s == nullptr || s->ephemeral()) {
    if (if_exists) return {};
    return fail(errc::subscription_not_found, "subscription " + quoted(name) + " does not exist");
  }
  std::string key(name);
  s->cancel_consumers(errc::subscription_not_found,
                      "subscription " + quoted(name) + " was deleted");
  b.erase_subscription(key);
  if (auto* f = feed_of(key)) f->erase_state(b);
  erase_subscription(key);
  log::queues().info("subscription {} deleted", key);
  deleted = true;
  return {};
}

ferry::error queue_registry::create_ephemeral(std::string_view pattern,
                                              const v1::SubscriptionOptions& opts,
                                              const topic* other_kind, subscription*& out) {
  if (auto why = names::check_pattern(pattern); !why.empty())
    return fail(errc::invalid_pattern, "pattern " + quoted(pattern) + ": " + why);
  subscription_options o;
  if (auto err = resolve(opts, o)) return err;
  if (auto err = check_subscription_target(pattern, other_kind, o)) return err;
  std::string name;
  do {
    name = "_ephemeral." + std::to_string(next_ephemeral_++);
  } while (subscriptions_.contains(name));
  out = add_subscription(std::move(name), std::string(pattern), std::move(o), true);
  return {};
}

void queue_registry::remove_ephemeral(subscription* s) {
  FERRY_ASSERT(s->ephemeral() && s->consumers().empty(), "removing a live subscription");
  erase_subscription(s->name());
}

subscription* queue_registry::find_subscription(std::string_view name) {
  auto it = subscriptions_.find(name);
  return it == subscriptions_.end() ? nullptr : it->second.get();
}

void queue_registry::describe(const subscription& s, v1::SubscriptionInfo& out) const {
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
  if (auto it = requested_options_.find(s.name());
      it != requested_options_.end() && it->second.has_push())
    *oo->mutable_push() = it->second.push();  // as given: the push front end resolves it
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
  out.set_nacked(st.nacked);
  out.set_delivered_bytes(st.delivered_bytes);
  out.set_acked_bytes(st.acked_bytes);
  out.set_dead_lettered_bytes(st.dead_lettered_bytes);
  out.set_dropped_bytes(st.dropped_bytes);
  out.set_expired_bytes(st.expired_bytes);
  const auto rates = s.sample_rates();
  out.set_deliver_rate(rates.delivered);
  out.set_ack_rate(rates.acked);
  if (auto* f = feed_of(s.name())) f->describe(out);
}

void queue_registry::list_subscriptions(std::string_view topic, v1::SubscriptionList& out,
                                        const list_page& page) const {
  bool as_topic = !topic.empty() && names::check_name(topic).empty();
  size_t n = 0;
  for (auto it = subscriptions_.upper_bound(page.after);
       it != subscriptions_.end() && n < page.limit; ++it) {
    const auto& s = it->second;
    if (topic.empty() || s->pattern() == topic ||
        (as_topic && names::matches(s->pattern(), topic))) {
      describe(*s, *out.add_subscriptions());
      ++n;
    }
  }
}

}  // namespace ferry::broker
