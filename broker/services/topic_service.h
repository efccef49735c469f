// topic_service: administration of topics and subscriptions, for every front end (the
// binary protocol's handlers today; REST tomorrow). Typed requests and results are the
// ferry.v1 messages; errors are ferry::error.
//
// Every change takes effect at once (a request handled after it sees it) and is answered
// once the catalog has made it durable; a creation the catalog refused is undone. Loop
// only.
#pragma once

#include <cstdint>
#include <string_view>

#include "ferry/v1/admin.pb.h"

#include "broker/catalog/catalog.h"
#include "broker/cluster/cluster_view.h"
#include "broker/core/list_page.h"
#include "broker/services/publish_scheduler.h"
#include "broker/services/push_definition.h"
#include "broker/services/reply.h"

namespace ferry::broker {

class group_coordinator;
class queue_registry;
class topic_directory;

class topic_service {
 public:
  topic_service(topic_directory& topics, queue_registry& queues, group_coordinator& groups,
                catalog& cat)
      : topics_(topics), queues_(queues), groups_(groups), catalog_(cat) {}

  // `owner_session` owns the topic if it is temporary (deleted when that session closes).
  void create_topic(const v1::CreateTopic& req, uint64_t owner_session, reply<v1::TopicInfo> done);
  void delete_topic(const v1::DeleteTopic& req, reply<v1::DeleteTopicOk> done);
  ferry::error describe_topic(std::string_view name, v1::TopicInfo& out) const;
  void list_topics(std::string_view pattern, v1::TopicList& out, const list_page& page = {}) const;

  void create_subscription(const v1::CreateSubscription& req, reply<v1::SubscriptionInfo> done);
  void delete_subscription(const v1::DeleteSubscription& req, reply<v1::DeleteSubscriptionOk> done);
  ferry::error describe_subscription(std::string_view name, v1::SubscriptionInfo& out) const;
  void list_subscriptions(std::string_view topic, v1::SubscriptionList& out,
                          const list_page& page = {}) const;
  ferry::error purge_subscription(const v1::PurgeSubscription& req, v1::PurgeSubscriptionOk& out);
  // Sets, changes or removes (an empty url) a durable subscription's push endpoint.
  void set_subscription_push(const v1::SetSubscriptionPush& req, reply<v1::SubscriptionInfo> done);
  // Who is told of push endpoints as they change (push/push_registry), and describes them.
  void set_push_listener(push_listener* l) { push_ = l; }
  // The cluster this broker belongs to (null: it runs alone): its live nodes bound a log
  // topic's replication factor.
  void set_cluster(const cluster_view* c) { cluster_ = c; }
  // Where delayed messages wait: describing a topic counts them.
  void set_scheduler(publish_scheduler* s) { scheduler_ = s; }
  // A topic's delayed messages, listed or cancelled; also those of a topic deleted since
  // (dropped when due, unless cancelled first).
  void list_scheduled(const v1::ListScheduled& req, reply<v1::ScheduledList> done);
  void cancel_scheduled(const v1::CancelScheduled& req, reply<v1::CancelScheduledOk> done);

  // The temporary topics of a closed session go.
  void session_closed(uint64_t session_id);

  // Topic changes another node of the cluster made (catalog::watch): a topic created
  // there is created here (a different definition under the name replaces the one here),
  // one deleted there is deleted here, with what goes with it; stored on this node only.
  void apply_from_cluster(const catalog_batch& changes);

 private:
  // Deletes topic `name` and what goes with it (a log topic's groups first), recording
  // the erasures in `b`; false if no topic has the name.
  bool remove_topic(std::string_view name, catalog_batch& b);
  // Resolves the replication factor `req` asks for (TopicOptions.replication_factor),
  // or says why it cannot be had.
  ferry::error resolve_replication(v1::CreateTopic& req) const;
  // Applies `b`; `done` once it is durable (or failed, after `undo`).
  void commit(catalog_batch b, std::function<void(const ferry::error&)> done,
              std::function<void()> undo = {});

  topic_directory& topics_;
  queue_registry& queues_;
  group_coordinator& groups_;
  catalog& catalog_;
  push_listener* push_ = nullptr;
  publish_scheduler* scheduler_ = nullptr;
  const cluster_view* cluster_ = nullptr;
};

}  // namespace ferry::broker
