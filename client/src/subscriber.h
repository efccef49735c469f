// subscriber: the consumers of a client.
//
// Each consumer handle shares a consumer_state. The state outlives connections: after a
// reconnect the subscriber subscribes again with the original subscribe_options and the
// state gets the new broker consumer id, so the handle stays valid. Deliveries carry the
// connection epoch they arrived on; settling one from an earlier epoch fails locally
// with errc::disconnected (the broker has requeued it).
//
// Settles (ack, nack, extend) are batched per consumer and kind and flushed at the end of
// the executor turn, one frame per batch.
//
// Executor: the client's. Owned by client_impl, which outlives it; it reaches the
// connection only through its link.
#pragma once

#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "client/src/consumer_table.h"
#include "client/src/link.h"
#include "ferry/client/client.h"
#include "support/lifetime.h"

namespace ferry::v1 {
class SubscribeOk;
}

namespace ferry::client::detail {

class client_impl;

// Settles of one consumer, kind and parameters, collected during one turn.
struct settle_batch {
  settle_kind kind = settle_kind::ack;
  bool dead_letter = false;  // nack
  std::string reason;        // nack
  uint32_t extend_ms = 0;    // extend
  std::vector<uint64_t> ids;
  std::vector<std::pair<uint64_t, void_handler>> waiters;  // async_ack
};

struct consumer_state {
  consumer_state(boost::asio::any_io_executor e, std::weak_ptr<client_impl> c)
      : ex(std::move(e)), client(std::move(c)) {}

  boost::asio::any_io_executor ex;
  std::weak_ptr<client_impl> client;
  subscribe_options opts;
  delivery_handler on_delivery;
  std::function<void(uint64_t, const error&)> on_settle_error;
  std::string subscription;  // from SubscribeOk
  uint64_t broker_id = 0;    // on connection `epoch`; 0 = not subscribed there
  uint64_t epoch = 0;
  bool closed = false;
  std::vector<settle_batch> batches;
  bool dirty = false;

  // For libferry's facades and the inbox:
  bool internal = false;       // the request/reply inbox: per connection, never resubscribed
  bool manual_credit = false;  // auto_ack credit is returned by subscriber::grant_credit
  std::function<void(const error&)> on_closed;  // runs once, when it closes
};

class subscriber {
 public:
  explicit subscriber(link& c) : c_(c) {}

  // Sends Subscribe for a new consumer; `h` gets the handle once SubscribeOk arrives.
  void subscribe(std::shared_ptr<consumer_state> s, handler<consumer> h);
  void settle(const std::shared_ptr<consumer_state>& s, settle_kind kind, uint64_t epoch,
              uint64_t consumer_id, uint64_t delivery_id, bool dead_letter, std::string_view reason,
              uint32_t extend_ms, void_handler h);
  void close(const std::shared_ptr<consumer_state>& s, void_handler h);
  // Returns auto_ack credit for a manual_credit consumer (deliveries of epoch `epoch`).
  void grant_credit(const std::shared_ptr<consumer_state>& s, uint64_t epoch, uint32_t n);

  // From the read loop: whether `consumer_id` is a subscription consumer of this
  // connection; its Deliver frame (copied into `frame`, `views` pointing into it).
  bool owns(uint64_t consumer_id) const { return table_.find(consumer_id) != nullptr; }
  void on_deliver(const std::shared_ptr<const std::vector<uint8_t>>& frame, uint64_t consumer_id,
                  const std::vector<codec::delivery_view>& views);
  // False when `consumer_id` is not a subscription consumer.
  bool on_cancelled(uint64_t consumer_id, const error& e);
  void on_connected();
  void on_disconnected();
  void fail_all(const error& e);

 private:
  void send_subscribe(const std::shared_ptr<consumer_state>& s, handler<consumer> h);
  void on_subscribed(const std::shared_ptr<consumer_state>& s, const error& e,
                     const v1::SubscribeOk& ok, handler<consumer> h);
  void send_unsubscribe(uint64_t consumer_id, void_handler h);
  void flush();
  void flush_consumer(const std::shared_ptr<consumer_state>& s);
  void mark_closed(const std::shared_ptr<consumer_state>& s, const error& e);
  void forget(const std::shared_ptr<consumer_state>& s);

  link& c_;
  consumer_table<consumer_state> table_;
  std::vector<std::shared_ptr<consumer_state>> dirty_;
  bool flush_posted_ = false;
  lifetime_token lifetime_;  // last: callbacks posted for later check it
};

// Fails every settle of `s` that is batched but not sent.
void fail_batches(consumer_state& s, const error& e);
// Tells on_settle_error, or stderr, that a settle failed.
void report_settle_error(consumer_state& s, uint64_t delivery_id, const error& e);

}  // namespace ferry::client::detail
