// A consumer attached to a subscription, and the sink its deliveries go to.
//
// The session owns its consumers and implements delivery_sink; the subscription holds
// plain pointers to the consumers attached to it and hands each delivery to the sink,
// which batches them per consumer until the session flushes (one Deliver frame per
// consumer per flush). Both live on the broker loop.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>
#include <vector>

#include "broker/topics/message.h"
#include "proto/codec/errc.h"

namespace ferry::v1 {
class Assignment;
}

namespace ferry::broker {

class subscription;
class consumer;
class consumer_group;

// What the broker says about one delivery, besides the message.
struct delivery_meta {
  uint64_t delivery_id = 0;
  uint32_t delivery_count = 0;
  uint32_t partition = 0;  // log topics
  uint64_t offset = 0;     // log topics
};

class delivery_sink {
 public:
  // A delivery for `c`; the sink keeps `m` (a reference) until it has written it.
  virtual void deliver(consumer& c, const message_ref& m, const delivery_meta& meta) = 0;
  // The broker closed `c` (its subscription was deleted). The subscription has already
  // forgotten it; the sink must not use c.sub any more.
  virtual void consumer_cancelled(consumer& c, errc code, std::string_view why) = 0;
  // A consumer-group member's assignment changed (log topics). Deliveries batched for
  // `c` before this must reach it first.
  virtual void assignment_changed(consumer& c, const v1::Assignment& a) = 0;

 protected:
  ~delivery_sink() = default;
};

struct pending_delivery {
  message_ref msg;
  delivery_meta meta;
};

class log_reader;

class consumer {
 public:
  consumer(uint64_t id, delivery_sink& sink, uint32_t prefetch, bool auto_ack)
      : id_(id), sink_(&sink), prefetch_(prefetch), auto_ack_(auto_ack) {}

  uint64_t id() const { return id_; }
  delivery_sink& sink() const { return *sink_; }
  bool auto_ack() const { return auto_ack_; }
  uint32_t prefetch() const { return prefetch_; }
  uint32_t outstanding() const { return outstanding_; }
  // Room for another delivery: under its window, and its connection is not holding more
  // unsent output than it should (see set_output_gate).
  bool has_credit() const { return outstanding_ < prefetch_ && !(gate_ != nullptr && *gate_); }
  subscription* sub() const { return sub_; }
  // Log-topic consumers read through a log_reader instead of a subscription.
  log_reader* reader() const { return reader_; }
  void set_reader(log_reader* r) { reader_ = r; }
  // Log readers count what they deliver here and take it back on Credit.
  void add_outstanding(uint32_t n) { outstanding_ += n; }
  void remove_outstanding(uint32_t n) { outstanding_ -= std::min(outstanding_, n); }
  void set_prefetch(uint32_t p) { prefetch_ = p; }
  // Consumer groups: the group this consumer is a member of, if any.
  consumer_group* group() const { return group_; }
  void set_group(consumer_group* g) { group_ = g; }
  // When the consumer's connection last sent anything (steady ms), for group sessions.
  int64_t last_activity_ms() const { return activity_ != nullptr ? *activity_ : 0; }
  void set_activity_source(const int64_t* a) { activity_ = a; }
  // While *closed is true the sink takes no more deliveries: its connection's unsent output
  // is over the pause mark. The sink owns the flag and hands out what was held back once
  // it opens again (subscriptions and log readers stop at has_credit()).
  void set_output_gate(const bool* closed) { gate_ = closed; }

  // Deliveries waiting for the session to write them (the sink's business).
  std::vector<pending_delivery> outbox;
  bool in_dirty_list = false;

 private:
  friend class subscription;
  uint64_t id_;
  delivery_sink* sink_;
  uint32_t prefetch_;
  bool auto_ack_;
  uint32_t outstanding_ = 0;  // unsettled deliveries (auto_ack: not yet credited back)
  subscription* sub_ = nullptr;
  log_reader* reader_ = nullptr;
  consumer_group* group_ = nullptr;
  const int64_t* activity_ = nullptr;
  const bool* gate_ = nullptr;
};

}  // namespace ferry::broker
