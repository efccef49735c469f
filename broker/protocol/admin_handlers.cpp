// Topic and subscription management requests, and the cluster's description.
#include "broker/protocol/handlers.h"

namespace ferry::broker::handlers {
namespace {

using codec::body;

// The reply of a service call that answers with `kind` once durable.
template <typename M>
reply<M> answer_with(body kind, responder r) {
  return [kind, r](const ferry::error& err, const M& ok) { r.answer(err, kind, ok); };
}

}  // namespace

void create_topic(request_context& ctx, const v1::CreateTopic& req, responder r) {
  ctx.services.topics.create_topic(req, ctx.client.id(),
                                   answer_with<v1::TopicInfo>(body::topic_info, r));
}

void delete_topic(request_context& ctx, const v1::DeleteTopic& req, responder r) {
  ctx.services.topics.delete_topic(req, answer_with<v1::DeleteTopicOk>(body::delete_topic_ok, r));
}

void list_topics(request_context& ctx, const v1::ListTopics& req, responder r) {
  v1::TopicList out;
  ctx.services.topics.list_topics(req.pattern(), out);
  r.respond(body::topic_list, out);
}

void describe_topic(request_context& ctx, const v1::DescribeTopic& req, responder r) {
  v1::TopicInfo out;
  auto err = ctx.services.topics.describe_topic(req.name(), out);
  r.answer(err, body::topic_info, out);
}

void list_scheduled(request_context& ctx, const v1::ListScheduled& req, responder r) {
  ctx.services.topics.list_scheduled(req, answer_with<v1::ScheduledList>(body::scheduled_list, r));
}

void cancel_scheduled(request_context& ctx, const v1::CancelScheduled& req, responder r) {
  ctx.services.topics.cancel_scheduled(
      req, answer_with<v1::CancelScheduledOk>(body::cancel_scheduled_ok, r));
}

void create_subscription(request_context& ctx, const v1::CreateSubscription& req, responder r) {
  ctx.services.topics.create_subscription(
      req, answer_with<v1::SubscriptionInfo>(body::subscription_info, r));
}

void delete_subscription(request_context& ctx, const v1::DeleteSubscription& req, responder r) {
  ctx.services.topics.delete_subscription(
      req, answer_with<v1::DeleteSubscriptionOk>(body::delete_subscription_ok, r));
}

void list_subscriptions(request_context& ctx, const v1::ListSubscriptions& req, responder r) {
  v1::SubscriptionList out;
  ctx.services.topics.list_subscriptions(req.pattern(), out);
  r.respond(body::subscription_list, out);
}

void describe_subscription(request_context& ctx, const v1::DescribeSubscription& req, responder r) {
  v1::SubscriptionInfo out;
  auto err = ctx.services.topics.describe_subscription(req.name(), out);
  r.answer(err, body::subscription_info, out);
}

void set_subscription_push(request_context& ctx, const v1::SetSubscriptionPush& req, responder r) {
  ctx.services.topics.set_subscription_push(
      req, answer_with<v1::SubscriptionInfo>(body::subscription_info, r));
}

void purge_subscription(request_context& ctx, const v1::PurgeSubscription& req, responder r) {
  v1::PurgeSubscriptionOk out;
  auto err = ctx.services.topics.purge_subscription(req, out);
  r.answer(err, body::purge_subscription_ok, out);
}

void describe_cluster(request_context& ctx, const v1::DescribeCluster&, responder r) {
  v1::ClusterInfo out;
  if (const auto* cluster = ctx.services.cluster) {
    out.set_enabled(true);
    out.set_node_id(cluster->node_id());
    out.set_registered(cluster->registered());
    out.set_controller_id(cluster->controller());
    out.set_controller_epoch(cluster->controller_epoch());
    for (const auto& [id, node] : cluster->nodes()) {
      auto* n = out.add_nodes();
      n->set_id(id);
      n->set_address(node.advertise);
    }
    for (const auto& [key, st] : cluster->partitions()) {
      auto* p = out.add_partitions();
      p->set_topic(key.first);
      p->set_partition(key.second);
      p->mutable_replicas()->Add(st.replicas.begin(), st.replicas.end());
      p->set_leader(st.leader);
      p->set_leader_epoch(st.leader_epoch);
      p->mutable_isr()->Add(st.isr.begin(), st.isr.end());
    }
  }
  r.respond(body::cluster_info, out);
}

}  // namespace ferry::broker::handlers
