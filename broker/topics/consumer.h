// consumer: one reader of a subscription (queues/) or of a log topic (logs/), and the
// interfaces on either side of it: the source it reads from and the sink its deliveries
// go to.
//
// Ownership: a client's consumer_table (services/) owns its consumers; the sink is the
// client's session, which batches deliveries per consumer until it writes them (one
// Deliver frame per consumer per flush). The source (a subscription, or the log reader a
// log topic made for it) holds a plain pointer to each attached consumer; detaching
// (consumer_table::remove) ends that before the consumer is destroyed. A group member
// is also pointed at by its consumer_group, which it leaves first. Broker loop only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/topics/message.h"
#include "proto/codec/errc.h"

namespace ferry::v1 {
class Assignment;
}

namespace ferry::broker {

class consumer;
class consumer_group;
class log_reader;
class subscription;

// What the broker says about one delivery, besides the message.
struct delivery_meta {
  uint64_t delivery_id = 0;
  uint32_t delivery_count = 0;
  uint32_t partition = 0;  // log topics
  uint64_t offset = 0;     // log topics
  bool record = false;     // a log record: partition and offset name it
};

// Subscriptions' delivery ids: (sequence << delivery_count_bits) | (count mod 2^bits),
// the sequence naming the message within its subscription (queues/subscription.h).
constexpr unsigned delivery_count_bits = 20;

// A stable name for a delivery's message, for a CloudEvent that lacks an id: a log
// record's topic/partition/offset, else the subscription and the message's sequence there;
// the same on every redelivery (for a log record also after a restart).
inline std::string delivery_name(std::string_view topic, std::string_view subscription,
                                 const delivery_meta& meta) {
  std::string out;
  if (meta.record || subscription.empty()) {
    out.append(topic).append("/").append(std::to_string(meta.partition)).append("/");
    return out.append(std::to_string(meta.offset));
  }
  out.append(subscription).append("/");
  return out.append(std::to_string(meta.delivery_id >> delivery_count_bits));
}

class delivery_sink {
 public:
  // A delivery for `c`; the sink keeps `m` (a reference) until it has written it.
  virtual void deliver(consumer& c, const message_ref& m, const delivery_meta& meta) = 0;
  // The broker closed `c` (its subscription or topic was deleted, its group session timed
  // out). The source has already forgotten it.
  virtual void consumer_cancelled(consumer& c, errc code, std::string_view why) = 0;
  // A consumer-group member's assignment changed (log topics). Deliveries batched for
  // `c` before this must reach it first.
  virtual void assignment_changed(consumer& c, const v1::Assignment& a) = 0;
  // `c` is being closed by its client: write what is batched for it (`write_pending`: an
  // orderly close of a consumer whose deliveries are already settled) or drop it.
  virtual void consumer_closing(consumer& c, bool write_pending) = 0;

 protected:
  ~delivery_sink() = default;
};

// What a consumer reads from, as its client's requests reach it.
class consumer_source {
 public:
  // `n` deliveries were consumed (auto-ack consumers, log readers), or room came back
  // some other way (n = 0: the sink's output gate opened): hand out what fits now.
  virtual void credit(consumer& c, uint32_t n) = 0;
  // A new window (already capped by the caller).
  virtual void set_prefetch(consumer& c, uint32_t prefetch) = 0;

 protected:
  ~consumer_source() = default;
};

struct pending_delivery {
  message_ref msg;
  delivery_meta meta;
};

class consumer {
 public:
  consumer(uint64_t id, delivery_sink& sink, uint32_t prefetch, bool auto_ack)
      : id_(id), sink_(&sink), prefetch_(prefetch), auto_ack_(auto_ack) {}
  consumer(const consumer&) = delete;
  consumer& operator=(const consumer&) = delete;

  uint64_t id() const { return id_; }
  delivery_sink& sink() const { return *sink_; }
  bool auto_ack() const { return auto_ack_; }
  uint32_t prefetch() const { return prefetch_; }
  uint32_t outstanding() const { return outstanding_; }
  // Room for another delivery: under its window, and its sink's output gate is open.
  bool has_credit() const { return outstanding_ < prefetch_ && !(gate_ != nullptr && *gate_); }

  // What it reads from (nullptr while detached), and which kind of source that is.
  consumer_source* source() const { return source_; }
  subscription* sub() const { return sub_; }
  log_reader* reader() const { return reader_; }
  void attach_to(subscription* s, consumer_source* src) {
    sub_ = s;
    source_ = src;
  }
  void attach_to(log_reader* r, consumer_source* src) {
    reader_ = r;
    source_ = src;
  }
  void detach_source() {
    sub_ = nullptr;
    reader_ = nullptr;
    source_ = nullptr;
  }

  // Sources count what they deliver here and take it back as it is settled or credited.
  void add_outstanding(uint32_t n) { outstanding_ += n; }
  void remove_outstanding(uint32_t n) { outstanding_ -= std::min(outstanding_, n); }
  void clear_outstanding() { outstanding_ = 0; }
  void set_prefetch(uint32_t p) { prefetch_ = p; }

  // Consumer groups: the group this consumer is a member of, if any.
  consumer_group* group() const { return group_; }
  void set_group(consumer_group* g) { group_ = g; }
  // When the consumer's connection last sent anything (steady ms), for group sessions.
  int64_t last_activity_ms() const { return activity_ != nullptr ? *activity_ : 0; }
  void set_activity_source(const int64_t* a) { activity_ = a; }
  // While *closed is true the sink takes no more deliveries: its connection's unsent
  // output is over the pause mark. The sink owns the flag and credits the source with 0
  // once it opens again.
  void set_output_gate(const bool* closed) { gate_ = closed; }

  // Deliveries waiting for the sink to write them (the sink's business).
  std::vector<pending_delivery> outbox;
  bool in_dirty_list = false;

 private:
  uint64_t id_;
  delivery_sink* sink_;
  uint32_t prefetch_;
  bool auto_ack_;
  uint32_t outstanding_ = 0;  // unsettled deliveries (auto_ack: not yet credited back)
  consumer_source* source_ = nullptr;
  subscription* sub_ = nullptr;
  log_reader* reader_ = nullptr;
  consumer_group* group_ = nullptr;
  const int64_t* activity_ = nullptr;
  const bool* gate_ = nullptr;
};

}  // namespace ferry::broker
