// Topic and subscription management requests.
#include "ferry/v1/admin.pb.h"

#include "broker/handlers/dispatch.h"
#include "broker/handlers/parse.h"
#include "broker/server/context.h"
#include "broker/session/session.h"

namespace ferry::broker::handlers {
namespace {

using codec::body;

// Answers `ok` once `changes` are durable (or the storage error if they could not be).
// `undo` runs on failure so memory does not claim what the disk refused.
template <typename M>
void answer_when_durable(session& s, uint64_t correlation_id, meta_changes changes, body kind, M ok,
                         std::function<void()> undo = {}) {
  s.ctx().persist(std::move(changes),
                  [w = s.weak_from_this(), correlation_id, kind, ok = std::move(ok),
                   undo = std::move(undo)](ferry::error err) {
                    if (err && undo) undo();
                    auto sp = w.lock();
                    if (!sp) return;
                    if (err) {
                      sp->respond_error(correlation_id, err);
                    } else {
                      sp->respond(correlation_id, kind, ok);
                    }
                  });
}

void create_topic(session& s, uint64_t cid, std::string_view bytes) {
  v1::CreateTopic req;
  if (!parse(s, cid, bytes, req)) return;
  auto& reg = s.ctx().topics();
  v1::TopicInfo info;
  meta_changes changes;
  if (auto err = reg.create_topic(req, s.id(), info, changes)) return s.respond_error(cid, err);
  bool created = !changes.empty();
  answer_when_durable(s, cid, std::move(changes), body::topic_info, std::move(info),
                      [&reg, name = req.name(), created] {
                        bool deleted;
                        meta_changes ignored;
                        if (created) (void)reg.delete_topic(name, true, deleted, ignored);
                      });
}

void delete_topic(session& s, uint64_t cid, std::string_view bytes) {
  v1::DeleteTopic req;
  if (!parse(s, cid, bytes, req)) return;
  bool deleted = false;
  meta_changes changes;
  if (auto err = s.ctx().topics().delete_topic(req.name(), req.if_exists(), deleted, changes))
    return s.respond_error(cid, err);
  v1::DeleteTopicOk ok;
  ok.set_deleted(deleted);
  answer_when_durable(s, cid, std::move(changes), body::delete_topic_ok, std::move(ok));
}

void create_subscription(session& s, uint64_t cid, std::string_view bytes) {
  v1::CreateSubscription req;
  if (!parse(s, cid, bytes, req)) return;
  auto& reg = s.ctx().topics();
  v1::SubscriptionInfo info;
  meta_changes changes;
  if (auto err = reg.create_subscription(req, info, changes)) return s.respond_error(cid, err);
  bool created = !changes.empty();
  answer_when_durable(s, cid, std::move(changes), body::subscription_info, std::move(info),
                      [&reg, name = req.name(), created] {
                        bool deleted;
                        meta_changes ignored;
                        if (created) (void)reg.delete_subscription(name, true, deleted, ignored);
                      });
}

void delete_subscription(session& s, uint64_t cid, std::string_view bytes) {
  v1::DeleteSubscription req;
  if (!parse(s, cid, bytes, req)) return;
  bool deleted = false;
  meta_changes changes;
  if (auto err =
          s.ctx().topics().delete_subscription(req.name(), req.if_exists(), deleted, changes))
    return s.respond_error(cid, err);
  v1::DeleteSubscriptionOk ok;
  ok.set_deleted(deleted);
  answer_when_durable(s, cid, std::move(changes), body::delete_subscription_ok, std::move(ok));
}

void describe_topic(session& s, uint64_t cid, std::string_view bytes) {
  v1::DescribeTopic req;
  if (!parse(s, cid, bytes, req)) return;
  v1::TopicInfo info;
  if (auto* lt = s.ctx().topics().find_log_topic(req.name())) {
    s.ctx().topics().describe(*lt, info);
    return s.respond(cid, body::topic_info, info);
  }
  auto* t = s.ctx().topics().find_topic(req.name());
  if (t == nullptr)
    return s.respond_error(cid, errc::topic_not_found, "topic '" + req.name() + "' does not exist");
  s.ctx().topics().describe(*t, info);
  s.respond(cid, body::topic_info, info);
}

void describe_subscription(session& s, uint64_t cid, std::string_view bytes) {
  v1::DescribeSubscription req;
  if (!parse(s, cid, bytes, req)) return;
  auto* sub = s.ctx().topics().find_subscription(req.name());
  if (sub == nullptr)
    return s.respond_error(cid, errc::subscription_not_found,
                           "subscription '" + req.name() + "' does not exist");
  v1::SubscriptionInfo info;
  s.ctx().topics().describe(*sub, info);
  s.respond(cid, body::subscription_info, info);
}

}  // namespace

void handle_admin(session& s, uint64_t cid, codec::body kind, std::string_view bytes) {
  s.ctx().topics().begin_event();
  switch (kind) {
    case body::create_topic: return create_topic(s, cid, bytes);
    case body::delete_topic: return delete_topic(s, cid, bytes);
    case body::describe_topic: return describe_topic(s, cid, bytes);
    case body::list_topics: {
      v1::ListTopics req;
      if (!parse(s, cid, bytes, req)) return;
      v1::TopicList out;
      s.ctx().topics().list_topics(req.pattern(), out);
      return s.respond(cid, body::topic_list, out);
    }
    case body::create_subscription: return create_subscription(s, cid, bytes);
    case body::delete_subscription: return delete_subscription(s, cid, bytes);
    case body::describe_subscription: return describe_subscription(s, cid, bytes);
    case body::list_subscriptions: {
      v1::ListSubscriptions req;
      if (!parse(s, cid, bytes, req)) return;
      v1::SubscriptionList out;
      s.ctx().topics().list_subscriptions(req.pattern(), out);
      return s.respond(cid, body::subscription_list, out);
    }
    default: return;
  }
}

}  // namespace ferry::broker::handlers
