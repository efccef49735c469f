// request_access: what the requests that name more than one resource are authorized for,
// the same for every front end (the binary protocol's pipeline, the REST routes).
#pragma once

#include <string_view>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/consume.pb.h"
#include "ferry/v1/log.pb.h"

#include "broker/security/authorizer.h"

namespace ferry::broker::access {

// Every name (of one or more segments).
inline constexpr std::string_view every_name = ">";

// A listing of topics: on the names its pattern can match, every name without one.
inline void topic_listing(std::string_view pattern, access_targets& t) {
  t.add(resource_kind::topic, pattern.empty() ? every_name : pattern, operation::describe);
}

// A listing of subscriptions: on every subscription name, whatever its pattern (which
// names topics: the answer may hold any subscription receiving from them).
inline void subscription_listing(access_targets& t) {
  t.add(resource_kind::subscription, every_name, operation::describe);
}

// A subscription someone makes (CreateSubscription, Subscribe with create_if_missing, an
// ephemeral Subscribe): consume on the topics of its pattern, and publish on its
// dead-letter topic, where the broker publishes on its maker's behalf.
inline void subscription_made(std::string_view pattern, const v1::SubscriptionOptions& o,
                              access_targets& t) {
  t.add(resource_kind::topic, pattern, operation::consume);
  if (!o.dead_letter_topic().empty())
    t.add(resource_kind::topic, o.dead_letter_topic(), operation::publish);
}

// A group's offsets of a topic: `group_op` on the group and `topic_op` on the topic
// (committing or moving offsets of a topic one may not read would skip its records).
inline void group_offsets(std::string_view group, operation group_op, std::string_view topic,
                          operation topic_op, access_targets& t) {
  t.add(resource_kind::group, group, group_op);
  t.add(resource_kind::topic, topic, topic_op);
}

// Subscribe: a named subscription (created first when missing, as RabbitMQ's
// queue.declare: that needs create on it), or an ephemeral one on a pattern.
inline void subscribe(const v1::Subscribe& m, access_targets& t) {
  if (m.subscription().empty()) return subscription_made(m.pattern(), m.options(), t);
  t.add(resource_kind::subscription, m.subscription(), operation::consume);
  if (!m.create_if_missing()) return;
  t.add(resource_kind::subscription, m.subscription(), operation::create);
  subscription_made(m.pattern(), m.options(), t);
}

// ConsumeLog: the log topic, and the group a reader joins (as Kafka asks READ on both).
inline void consume_log(const v1::ConsumeLog& m, access_targets& t) {
  t.add(resource_kind::topic, m.topic(), operation::consume);
  if (!m.group().empty()) t.add(resource_kind::group, m.group(), operation::consume);
}

}  // namespace ferry::broker::access
