// consumer_table: the consumers one client opened, whatever its front end (the binary
// protocol's session today; WebSocket and push subscriptions tomorrow).
//
// Owns them from the request that opens one to its close. Closing one (remove) is the
// one ordered teardown: the sink writes or drops what it batched, the consumer leaves its
// group, detaches from its source (its deliveries in flight go back to the queue), and
// its ephemeral subscription goes with it. Consumers the broker cancels are only
// forgotten (their source already let go). Loop only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>

#include "broker/topics/consumer.h"
#include "support/lifetime.h"

namespace ferry::broker {

class group_coordinator;
class queue_registry;

class consumer_table {
 public:
  // What closing a consumer reaches (consume_service::client_context gives it).
  struct context {
    queue_registry& queues;
    group_coordinator& groups;
  };

  // `activity` (steady ms of the client's last frame) and `output_gate` (see
  // consumer::set_output_gate) are the client's, shared by all its consumers.
  consumer_table(const context& ctx, delivery_sink& sink, const int64_t* activity,
                 const bool* output_gate);
  ~consumer_table();
  consumer_table(const consumer_table&) = delete;
  consumer_table& operator=(const consumer_table&) = delete;

  // A new consumer, not attached to anything yet. Ids count from 1 per client.
  consumer& add(uint32_t prefetch, bool auto_ack);
  consumer* find(uint64_t id);
  // Closes consumer `id` (see above); `write_pending`: an orderly close that writes the
  // deliveries an auto-ack consumer already had batched.
  void remove(uint64_t id, bool write_pending = false);
  void remove_all();
  // The broker cancelled `id`: its source forgot it already.
  void forget(uint64_t id);
  bool empty() const { return consumers_.empty(); }
  // The ids, in order (a copy: callers may remove consumers meanwhile).
  std::vector<uint64_t> ids() const;
  // Expires with the table: asynchronous requests check it before they touch a consumer.
  const lifetime_token& lifetime() const { return lifetime_; }

 private:
  const context& ctx_;
  delivery_sink& sink_;
  const int64_t* activity_;
  const bool* output_gate_;
  uint64_t next_id_ = 1;
  std::map<uint64_t, std::unique_ptr<consumer>> consumers_;
  lifetime_token lifetime_;
};

}  // namespace ferry::broker
