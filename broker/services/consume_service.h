// consume_service: opening, feeding, settling and closing consumers of memory topics
// (subscriptions) and readers of log topics, for every front end. Each call names the
// client's consumer_table; typed requests and results are the ferry.v1 messages.
//
// Subscribe and ConsumeLog may answer later (a subscription created first and made
// durable, a TIME position looked up in storage): if the client closed meanwhile the
// answer is dropped (its table's lifetime expired). Loop only.
#pragma once

#include <memory>
#include <span>
#include <string>

#include "ferry/v1/consume.pb.h"
#include "ferry/v1/log.pb.h"

#include "broker/queues/subscription.h"
#include "broker/services/consumer_table.h"
#include "broker/services/reply.h"

namespace ferry::broker {

class group_coordinator;
class log_registry;
class log_topic;
class queue_registry;
class topic_directory;
class topic_service;

class consume_service {
 public:
  consume_service(topic_directory& topics, queue_registry& queues, log_registry& logs,
                  group_coordinator& groups, topic_service& admin)
      : topics_(topics),
        queues_(queues),
        logs_(logs),
        groups_(groups),
        admin_(admin),
        client_context_{queues, groups} {}

  // What every client's consumer_table is made with.
  const consumer_table::context& client_context() const { return client_context_; }

  // ---- memory topics ----
  // Attaches a new consumer to a subscription (creating it, durably, if asked). The
  // SubscribeOk is answered before anything is delivered to it.
  void subscribe(consumer_table& client, const v1::Subscribe& req, reply<v1::SubscribeOk> done);
  // Settles deliveries of one ack consumer (PROTOCOL.md 6.4). Answered at once, or for a
  // subscription on a log topic once what changed is stored (an extension: at once).
  void settle(consumer_table& client, uint64_t consumer_id, const subscription::settle_request& r,
              std::span<const uint64_t> ids, reply<v1::SettleOk> done);

  // ---- log topics ----
  // Opens a log reader at positions, or joins a consumer group (`client_id` names the
  // member).
  void consume_log(consumer_table& client, const v1::ConsumeLog& req, const std::string& client_id,
                   reply<v1::ConsumeLogOk> done);
  void seek(consumer_table& client, const v1::Seek& req, reply<v1::SeekOk> done);

  // ---- both ----
  ferry::error unsubscribe(consumer_table& client, uint64_t consumer_id);
  // Credit and a new window; unknown consumers are ignored (a benign race).
  void credit(consumer_table& client, const v1::Credit& req);

 private:
  void attach(consumer_table& client, subscription& sub, const v1::Subscribe& req,
              const reply<v1::SubscribeOk>& done);
  void join_group(consumer_table& client, const v1::ConsumeLog& req, log_topic& t,
                  const std::string& client_id, uint32_t credit,
                  const reply<v1::ConsumeLogOk>& done);

  topic_directory& topics_;
  queue_registry& queues_;
  log_registry& logs_;
  group_coordinator& groups_;
  topic_service& admin_;
  consumer_table::context client_context_;
};

}  // namespace ferry::broker
