// log_reader: one consumer's reading of a log topic (the consumer_source of a log
// consumer). Its methods are the topic's business, in log_topic.cpp.
#pragma once

#include <cstdint>
#include <map>

#include "broker/topics/consumer.h"
#include "support/lifetime.h"

namespace ferry::broker {

class log_topic;

// One consumer's reading of a log topic: a cursor per partition. Owned by the topic from
// attach() to detach(); the consumer points at it (consumer::reader()) meanwhile.
class log_reader final : public consumer_source {
 public:
  struct cursor {
    uint64_t next = 0;     // the next offset to deliver
    bool reading = false;  // a storage read is under way
    uint64_t epoch = 0;    // bumped by seek/detach, so stale reads are dropped
  };
  log_reader(consumer& c, log_topic& t) : consumer_(c), topic_(t) {}
  consumer& owner() { return consumer_; }
  log_topic& topic() { return topic_; }
  std::map<uint32_t, cursor>& cursors() { return cursors_; }
  // Expires with the reader: storage reads completing later check it.
  const lifetime_token& lifetime() const { return lifetime_; }
  // A fresh cursor epoch, never reused by this reader (also across removing and adding
  // back a partition), so a read in flight for an old position is recognised.
  uint64_t new_epoch() { return ++epochs_; }

  // consumer_source: records consumed (or room came back): push what fits.
  void credit(consumer& c, uint32_t n) override;
  void set_prefetch(consumer& c, uint32_t prefetch) override;

 private:
  consumer& consumer_;
  log_topic& topic_;
  std::map<uint32_t, cursor> cursors_;
  lifetime_token lifetime_;
  uint64_t epochs_ = 0;
};

}  // namespace ferry::broker
