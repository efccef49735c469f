// subscription: one queue of a memory topic (RabbitMQ's queue, Pub/Sub's subscription).
//
// Owns the messages published since it was created that are not yet acknowledged:
// - ready: waiting for a consumer; requeued messages go first, in their original order;
// - in flight: delivered to one consumer under an ack lease, until acked, nacked or the
//   lease ends (then requeued, or dead-lettered after max_deliveries).
// Consumers attached to it compete: each ready message goes to the next consumer (round
// robin) that has credit (unsettled deliveries below its prefetch).
//
// Delivery ids name one attempt: (sequence << 20) | (delivery count mod 2^20). An ack,
// nack or lease extension is accepted only for the current attempt while its lease is
// held by the same consumer; anything else is refused with STALE_DELIVERY.
//
// Lifecycle: created and destroyed by the registry; consumers attach and detach through
// it. Runs on the broker loop only; time comes from subscription_env, never a syscall.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <queue>
#include <span>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "broker/core/rate_meter.h"
#include "broker/topics/consumer.h"
#include "broker/topics/message.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

class subscription;

// Settling waits for this before it is answered (a log share's delivery state, written to
// storage); memory subscriptions have none.
class settle_barrier {
 public:
  // `fn` once what was settled so far is durable (or its write failed).
  virtual void after_durable(std::function<void(const ferry::error&)> fn) = 0;

 protected:
  ~settle_barrier() = default;
};

// What a subscription needs from its surroundings: the queue registry, or the feed of a
// subscription on a log topic (queues/subscription_feed.h). `seq` names a message within
// its subscription (enqueue's answer).
class subscription_env {
 public:
  // The loop's current steady time in milliseconds, read once per event.
  virtual int64_t now() const = 0;
  // Takes a message out of `from` for good: to the dead-letter topic, or dropped.
  virtual void dead_letter(subscription& from, uint64_t seq, const message_ref& m,
                           uint32_t delivery_count, std::string_view reason,
                           std::string_view detail) = 0;
  // Message `seq` is being delivered: `meta` may gain what the feed knows of it (a log
  // record's partition and offset).
  virtual void delivering(subscription&, uint64_t /*seq*/, delivery_meta& /*meta*/) {}
  // Message `seq` left for good by an ack (or by being sent to an auto-ack consumer).
  virtual void acked(subscription&, uint64_t /*seq*/) {}
  // What settling must wait for before it is answered, if anything.
  virtual settle_barrier* barrier() { return nullptr; }

 protected:
  ~subscription_env() = default;
};

// Options with the broker's defaults already applied.
struct subscription_options {
  uint32_t max_deliveries = 0;  // 0 = unlimited
  int64_t ack_timeout_ms = 30000;
  uint64_t max_messages = 0;    // ready messages; 0 = unlimited
  uint64_t max_bytes = 0;       // ready bytes; 0 = unlimited
  bool reject_publish = false;  // overflow policy; false = drop-oldest
  std::string dead_letter_topic;

  bool operator==(const subscription_options&) const = default;
};

struct subscription_stats {
  uint64_t delivered = 0;
  uint64_t redelivered = 0;
  uint64_t acked = 0;
  uint64_t nacked = 0;
  uint64_t dead_lettered = 0;
  uint64_t dropped = 0;
  uint64_t expired = 0;
  // The encoded Message bytes of the same (a redelivery counts its bytes again).
  uint64_t delivered_bytes = 0;
  uint64_t acked_bytes = 0;
  uint64_t dead_lettered_bytes = 0;
  uint64_t dropped_bytes = 0;
  uint64_t expired_bytes = 0;
};

class subscription final : public consumer_source {
 public:
  subscription(std::string name, std::string pattern, subscription_options opts, bool ephemeral,
               subscription_env& env);
  ~subscription();
  subscription(const subscription&) = delete;
  subscription& operator=(const subscription&) = delete;

  const std::string& name() const { return name_; }
  const std::string& pattern() const { return pattern_; }
  const subscription_options& options() const { return opts_; }
  bool ephemeral() const { return ephemeral_; }
  subscription_env& env() const { return env_; }
  // The seq the next enqueue() will give.
  uint64_t next_seq() const { return next_seq_; }

  // ---- publishing side ----
  // Whether a reject-publish limit refuses a message of `bytes` now.
  bool would_reject(size_t bytes) const;
  // Adds a message (drop-oldest makes room if a limit is passed) and hands out what
  // consumers have credit for; `delivery_count`: delivered that often before (a log
  // record after a restart). Its seq is next_seq() as it is called.
  void enqueue(const message_ref& m, uint32_t delivery_count = 0);

  // ---- consumers ----
  void attach(consumer& c);
  // Detaches `c`; its in-flight deliveries are requeued (or dead-lettered).
  void detach(consumer& c);
  // consumer_source: auto_ack consumers: `n` deliveries were consumed and may be replaced
  // (ignored for ack consumers, which free room by settling); then hands out what fits.
  void credit(consumer& c, uint32_t n) override;
  void set_prefetch(consumer& c, uint32_t prefetch) override;
  // Settling one request's deliveries: each id in order, then one dispatch, so messages
  // requeued together come back in their original publish order (not the request's).
  // `refused(id, code, why)` for each id that is not a current attempt of `c`; returns
  // how many ids were settled.
  enum class settle_kind { ack, requeue, dead_letter, extend };
  struct settle_request {
    settle_kind kind = settle_kind::ack;
    std::string_view reason;  // dead_letter: the detail
    int64_t lease_ms = 0;     // extend; 0 = ack_timeout_ms
    // dead_letter: the reason recorded (ferry-dead-letter-reason); a consumer's nack is
    // "rejected", a push endpoint that failed max_deliveries times "max_deliveries".
    std::string_view dead_letter_reason = "rejected";
  };
  using refusal_fn = std::function<void(uint64_t delivery_id, const ferry::error& why)>;
  uint32_t settle(consumer& c, const settle_request& r, std::span<const uint64_t> delivery_ids,
                  const refusal_fn& refused);
  // One delivery (tests and simple callers); a refusal says what happened to it.
  ferry::error ack(consumer& c, uint64_t delivery_id);
  ferry::error nack(consumer& c, uint64_t delivery_id, bool dead_letter, std::string_view reason);
  ferry::error extend(consumer& c, uint64_t delivery_id, int64_t lease_ms);
  // Detaches every consumer, telling each sink (the subscription is going away).
  void cancel_consumers(errc code, std::string_view why);
  const std::vector<consumer*>& consumers() const { return consumers_; }

  // ---- timers ----
  // Requeues deliveries whose lease ended and expires ready messages past their TTL.
  void on_tick();
  // Earliest steady time on_tick() has work, or INT64_MAX.
  int64_t next_deadline() const;

  // Drops every ready message (requeued ones included), as RabbitMQ's purge does;
  // deliveries in flight stay and are settled as usual. Returns how many went.
  uint64_t purge() {
    const uint64_t n = ready_count();
    ready_.clear();
    redeliver_ = {};
    ready_bytes_ = 0;
    return n;
  }

  // ---- introspection ----
  uint64_t ready_count() const { return ready_.size() + redeliver_.size(); }
  uint64_t ready_bytes() const { return ready_bytes_; }
  uint64_t in_flight_count() const { return in_flight_.size(); }
  const subscription_stats& stats() const { return stats_; }
  struct rates {
    double delivered, acked;  // per second (rate_meter.h)
  };
  // Samples the meters now (describe does).
  rates sample_rates() const {
    return {deliver_rate_.sample(env_.now(), stats_.delivered),
            ack_rate_.sample(env_.now(), stats_.acked)};
  }
  size_t lease_entries_for_test() const { return leases_.size(); }
  // The registry counts what became of a message handed to dead_letter().
  void count_dead_letter(bool to_topic, size_t bytes) {
    ++(to_topic ? stats_.dead_lettered : stats_.dropped);
    (to_topic ? stats_.dead_lettered_bytes : stats_.dropped_bytes) += bytes;
  }

 private:
  struct queued {
    message_ref msg;
    uint64_t seq;
    uint32_t delivery_count;
  };
  struct by_seq {  // min-heap order
    bool operator()(const queued& a, const queued& b) const { return a.seq > b.seq; }
  };
  struct in_flight_entry {
    message_ref msg;
    consumer* owner;
    int64_t deadline;
    uint32_t delivery_count;
  };
  struct lease {
    int64_t deadline;
    uint64_t seq;
    uint32_t delivery_count;
    bool operator>(const lease& o) const { return deadline > o.deadline; }
  };

  bool has_ready() const { return !ready_.empty() || !redeliver_.empty(); }
  const queued& peek_ready() const;
  queued pop_ready();
  consumer* next_consumer();
  void dispatch();
  void deliver(consumer& c, queued&& q);
  // Takes a settled-or-expired attempt out of flight; returns the entry.
  // Precondition: `it` is valid.
  void requeue(uint64_t seq, message_ref msg, uint32_t delivery_count);
  void drop_oldest_over_limit();
  void push_lease(const lease& l);
  bool over_limit() const;
  // Finds the in-flight entry for a settle request; an error (saying why) if the attempt is
  // not current for `c`.
  ferry::error find_current(consumer& c, uint64_t delivery_id, in_flight_entry*& out);
  // Settles one attempt without dispatching.
  ferry::error settle_one(consumer& c, const settle_request& r, uint64_t delivery_id);

  std::string name_;
  std::string pattern_;
  subscription_options opts_;
  bool ephemeral_;
  subscription_env& env_;

  uint64_t next_seq_ = 1;
  std::deque<queued> ready_;  // never delivered, in publish order
  std::priority_queue<queued, std::vector<queued>, by_seq> redeliver_;  // requeued
  uint64_t ready_bytes_ = 0;
  boost::unordered_flat_map<uint64_t, in_flight_entry> in_flight_;
  // Lease deadlines, with lazy deletion: settling does not search the heap, so entries of
  // settled deliveries stay until popped; push_lease() rebuilds the heap from in_flight_
  // when they outnumber the live ones, which keeps it under 2x in-flight (+ slack).
  std::priority_queue<lease, std::vector<lease>, std::greater<>> leases_;

  std::vector<consumer*> consumers_;
  size_t next_consumer_ = 0;
  subscription_stats stats_;
  mutable rate_meter deliver_rate_, ack_rate_;  // sampled by sample_rates()
};

// Delivery-id layout (see the class comment; delivery_count_bits is in topics/consumer.h).
constexpr uint64_t make_delivery_id(uint64_t seq, uint32_t count) {
  return (seq << delivery_count_bits) | (count & ((1u << delivery_count_bits) - 1));
}

}  // namespace ferry::broker
