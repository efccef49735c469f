#include "broker/services/topic_service.h"

#include <algorithm>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/groups/group_coordinator.h"
#include "broker/queues/queue_registry.h"
#include "broker/topics/topic_directory.h"
#include "proto/codec/names.h"

namespace ferry::broker {

namespace {

// A push endpoint as resolve_push takes it, whose requests end before their delivery's
// lease would (else a slow answer would meet the same message delivered again).
ferry::error check_push(const v1::PushEndpoint& push, int64_t ack_timeout_ms) {
  push_settings checked;
  if (auto err = resolve_push(push, checked)) return err;
  if (checked.timeout_ms >= ack_timeout_ms)
    return fail(errc::invalid_argument, "push: timeout_ms (" + std::to_string(checked.timeout_ms) +
                                            ") must be below the subscription's ack_timeout_ms (" +
                                            std::to_string(ack_timeout_ms) + ")");
  return {};
}

}  // namespace

void topic_service::commit(catalog_batch b, std::function<void(const ferry::error&)> done,
                           std::function<void()> undo) {
  catalog_.apply(std::move(b),
                 [done = std::move(done), undo = std::move(undo)](const ferry::error& err) {
                   if (err && undo) undo();
                   done(err);
                 });
}

// ---- topics ----

ferry::error topic_service::resolve_replication(v1::CreateTopic& req) const {
  auto& o = *req.mutable_options();
  const uint32_t asked = o.replication_factor();
  const std::string factor = "replication_factor " + std::to_string(asked);
  if (req.kind() != v1::LOG) {
    if (asked > 1)
      return fail(errc::invalid_argument, factor + ": memory topics are not replicated");
    return {};
  }
  if (cluster_ == nullptr) {
    if (asked > 1)
      return fail(errc::invalid_argument,
                  factor + " needs a cluster (cluster.etcd): this broker runs alone");
    return {};
  }
  if (!cluster_->nodes().contains(cluster_->node_id()))
    return fail(errc::timeout, "this node has not read the cluster's nodes from etcd yet");
  const auto live = static_cast<uint32_t>(cluster_->nodes().size());
  if (asked == 0) {
    o.set_replication_factor(std::clamp<uint32_t>(live, 1, 3));
  } else if (asked > live) {
    return fail(errc::invalid_argument,
                factor + " needs as many live nodes; the cluster has " + std::to_string(live));
  }
  return {};
}

void topic_service::create_topic(const v1::CreateTopic& asked, uint64_t owner_session,
                                 reply<v1::TopicInfo> done) {
  v1::CreateTopic req = asked;
  if (auto why = names::check_name(req.name()); !why.empty())
    return done(fail(errc::invalid_name, "topic name " + quoted(req.name()) + ": " + why), {});
  if (auto err = resolve_replication(req)) return done(err, {});
  topic_family* family = topics_.family(req.kind());
  if (family == nullptr) return done(fail(errc::invalid_argument, "unknown topic kind"), {});
  topic_family* holder = topics_.family_of(req.name());
  const topic* other = holder != nullptr && holder != family ? topics_.find(req.name()) : nullptr;
  v1::TopicInfo info;
  catalog_batch b;
  if (auto err = family->create(req, owner_session, other, info, b)) return done(err, {});
  bool created = !b.empty();
  commit(
      std::move(b), [info, done = std::move(done)](const ferry::error& err) { done(err, info); },
      [this, name = req.name(), created] {
        catalog_batch ignored;
        if (created) remove_topic(name, ignored);
      });
}

void topic_service::delete_topic(const v1::DeleteTopic& req, reply<v1::DeleteTopicOk> done) {
  v1::DeleteTopicOk ok;
  catalog_batch b;
  if (!remove_topic(req.name(), b)) {
    if (req.if_exists()) return done({}, ok);
    return done(fail(errc::topic_not_found, "topic " + quoted(req.name()) + " does not exist"), ok);
  }
  ok.set_deleted(true);
  commit(std::move(b), [ok, done = std::move(done)](const ferry::error& err) { done(err, ok); });
}

bool topic_service::remove_topic(std::string_view name, catalog_batch& b) {
  topic_family* family = topics_.family_of(name);
  if (family == nullptr) return false;
  groups_.topic_removed(name, b);  // a log topic's groups go first: their members are its readers
  queues_.remove_subscriptions_on(name, b);  // and the subscriptions that name it
  family->remove(name, b);
  return true;
}

ferry::error topic_service::describe_topic(std::string_view name, v1::TopicInfo& out) const {
  const topic* t = topics_.find(name);
  if (t == nullptr) return fail(errc::topic_not_found, "topic " + quoted(name) + " does not exist");
  t->describe(out);
  if (scheduler_ != nullptr) out.set_scheduled(scheduler_->waiting(out.name()));
  return {};
}

void topic_service::list_topics(std::string_view pattern, v1::TopicList& out,
                                const list_page& page) const {
  topics_.list(pattern, out, page);
  if (scheduler_ != nullptr)
    for (auto& t : *out.mutable_topics())
      t.set_scheduled(scheduler_->waiting(t.name()));
}

void topic_service::list_scheduled(const v1::ListScheduled& req, reply<v1::ScheduledList> done) {
  if (auto why = names::check_name(req.topic()); !why.empty())
    return done(fail(errc::invalid_name, "topic name " + quoted(req.topic()) + ": " + why), {});
  if (scheduler_ == nullptr) {
    v1::ScheduledList empty;
    empty.set_topic(req.topic());
    return done({}, empty);
  }
  scheduler_->list(req, std::move(done));
}

void topic_service::cancel_scheduled(const v1::CancelScheduled& req,
                                     reply<v1::CancelScheduledOk> done) {
  if (auto why = names::check_name(req.topic()); !why.empty())
    return done(fail(errc::invalid_name, "topic name " + quoted(req.topic()) + ": " + why), {});
  if (scheduler_ == nullptr)
    return done(fail(errc::scheduled_not_found, "no message " + quoted(req.id()) + " waits"), {});
  scheduler_->cancel(req, std::move(done));
}

void topic_service::session_closed(uint64_t session_id) {
  queues_.session_closed(session_id);
}

void topic_service::apply_from_cluster(const catalog_batch& changes) {
  // Removals are stored first, in a batch of their own: a replaced topic's creation
  // requires its name absent.
  catalog_batch gone, made;
  gone.mark_from_cluster();
  made.mark_from_cluster();
  for_each_topic_change(changes, [&](std::string_view name, const v1::TopicInfo* def) {
    const topic* here = topics_.find(name);
    if (def != nullptr && here != nullptr && here->kind() == def->kind() &&
        here->options().SerializeAsString() == def->options().SerializeAsString())
      return;
    if (here != nullptr) remove_topic(name, gone);
    if (def == nullptr) return;
    v1::CreateTopic req;
    req.set_name(def->name());
    req.set_kind(def->kind());
    *req.mutable_options() = def->options();
    v1::TopicInfo info;
    topic_family* family = topics_.family(def->kind());
    ferry::error err = family == nullptr ? fail(errc::invalid_argument, "unknown topic kind")
                                         : family->create(req, 0, nullptr, info, made);
    if (err)
      log::cluster().error("topic {} of the cluster not created here: {}", quoted(name),
                           err.message);
  });
  for (auto* b : {&gone, &made})
    commit(std::move(*b), [](const ferry::error& err) {
      if (err) log::cluster().error("storing the cluster's topic changes failed: {}", err.message);
    });
}

// ---- subscriptions ----

void topic_service::create_subscription(const v1::CreateSubscription& req,
                                        reply<v1::SubscriptionInfo> done) {
  const bool push = !req.options().push().url().empty();
  if (push) {
    subscription_options resolved;
    if (auto err = queues_.resolve(req.options(), resolved)) return done(err, {});
    if (auto err = check_push(req.options().push(), resolved.ack_timeout_ms)) return done(err, {});
  }
  v1::SubscriptionInfo info;
  catalog_batch b;
  const topic* target = topics_.find(req.pattern());
  const topic* other = target != nullptr && target->kind() != v1::MEMORY ? target : nullptr;
  if (auto err = queues_.create_subscription(req, other, info, b)) return done(err, {});
  bool created = !b.empty();
  commit(
      std::move(b),
      [this, info, push, created, done = std::move(done)](const ferry::error& err) {
        if (!err && push && created && push_ != nullptr)
          push_->push_changed(info.name(), &info.options().push());
        done(err, info);
      },
      [this, name = req.name(), created] {
        bool deleted;
        catalog_batch ignored;
        if (created) (void)queues_.delete_subscription(name, true, deleted, ignored);
      });
}

void topic_service::delete_subscription(const v1::DeleteSubscription& req,
                                        reply<v1::DeleteSubscriptionOk> done) {
  bool deleted = false;
  catalog_batch b;
  if (auto err = queues_.delete_subscription(req.name(), req.if_exists(), deleted, b))
    return done(err, {});
  v1::DeleteSubscriptionOk ok;
  ok.set_deleted(deleted);
  commit(std::move(b),
         [this, name = req.name(), ok, done = std::move(done)](const ferry::error& err) {
           if (!err && ok.deleted() && push_ != nullptr) push_->push_changed(name, nullptr);
           done(err, ok);
         });
}

void topic_service::set_subscription_push(const v1::SetSubscriptionPush& req,
                                          reply<v1::SubscriptionInfo> done) {
  v1::SubscriptionInfo before;
  if (auto err = describe_subscription(req.name(), before)) return done(err, {});
  if (!req.push().url().empty())
    if (auto err = check_push(req.push(), before.options().ack_timeout_ms())) return done(err, {});
  v1::SubscriptionInfo info;
  catalog_batch b;
  if (auto err = queues_.set_push(req.name(), req.push(), b, info)) return done(err, {});
  commit(
      std::move(b),
      [this, info, done = std::move(done)](const ferry::error& err) {
        if (!err && push_ != nullptr)
          push_->push_changed(info.name(),
                              info.options().has_push() ? &info.options().push() : nullptr);
        done(err, info);
      },
      [this, before] {
        catalog_batch ignored;
        v1::SubscriptionInfo ignored_info;
        (void)queues_.set_push(before.name(), before.options().push(), ignored, ignored_info);
      });
}

ferry::error topic_service::describe_subscription(std::string_view name,
                                                  v1::SubscriptionInfo& out) const {
  const subscription* s = queues_.find_subscription(name);
  if (s == nullptr)
    return fail(errc::subscription_not_found, "subscription " + quoted(name) + " does not exist");
  queues_.describe(*s, out);
  if (push_ != nullptr && out.options().has_push())
    push_->push_stats(out.name(), *out.mutable_push());
  return {};
}

ferry::error topic_service::purge_subscription(const v1::PurgeSubscription& req,
                                               v1::PurgeSubscriptionOk& out) {
  subscription* s = queues_.find_subscription(req.name());
  if (s == nullptr)
    return fail(errc::subscription_not_found,
                "subscription " + quoted(req.name()) + " does not exist");
  if (queues_.feed_of(req.name()) != nullptr)
    return fail(errc::invalid_argument, "subscription " + quoted(req.name()) +
                                            " reads a log topic: its backlog is the log, and "
                                            "a purge would not remove it");
  out.set_purged(s->purge());
  return {};
}

void topic_service::list_subscriptions(std::string_view topic, v1::SubscriptionList& out,
                                       const list_page& page) const {
  queues_.list_subscriptions(topic, out, page);
  if (push_ == nullptr) return;
  for (auto& s : *out.mutable_subscriptions())
    if (s.options().has_push()) push_->push_stats(s.name(), *s.mutable_push());
}

}  // namespace ferry::broker
