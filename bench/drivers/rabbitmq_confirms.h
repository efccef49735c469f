// rabbitmq_confirms: one producer channel's publisher confirms (confirm.select), turned into
// measurement::confirmed / publish_failed calls.
//
// Delivery tags count the channel's publishes from 1. The server acks (or nacks) a tag, or
// every tag up to it (multiple); confirms may come out of order, so each publish keeps its
// state until everything before it is settled, then runs of them are reported at once.
// Used by the producer's thread only; `report_mu` serialises the measurement's publishing
// side between producers (measurement.h: one publishing thread at a time).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>

#include "bench/measurement.h"

namespace ferry::bench::rabbitmq {

class confirm_tracker {
 public:
  confirm_tracker(measurement& m, std::mutex& report_mu) : m_(m), report_mu_(report_mu) {}

  // One more publish on the channel (the next delivery tag), sent at `intended`.
  void published(steady::time_point intended) { pending_.push_back({intended, state::open}); }
  // Publishes not yet settled.
  uint64_t unconfirmed() const { return pending_.size(); }

  // basic.ack (ok) or basic.nack (!ok) of `tag`, or of every tag up to it when `multiple`.
  // Tags never published are ignored.
  void settle(uint64_t tag, bool multiple, bool ok) {
    if (tag < first_tag_ || tag - first_tag_ >= pending_.size()) return;
    size_t last = static_cast<size_t>(tag - first_tag_);
    state s = ok ? state::acked : state::nacked;
    if (multiple) {
      for (size_t i = 0; i <= last; ++i)
        if (pending_[i].st == state::open) pending_[i].st = s;
    } else if (pending_[last].st == state::open) {
      pending_[last].st = s;
    }
    report_settled_prefix();
  }

 private:
  enum class state : uint8_t { open, acked, nacked };
  struct entry {
    steady::time_point intended;
    state st;
  };

  // Reports and drops the settled publishes at the front, one call per run of equal ones.
  void report_settled_prefix() {
    if (pending_.empty() || pending_.front().st == state::open) return;
    std::lock_guard lock(report_mu_);
    while (!pending_.empty() && pending_.front().st != state::open) {
      entry head = pending_.front();
      uint64_t n = 0;
      while (!pending_.empty() && pending_.front().st == head.st &&
             pending_.front().intended == head.intended) {
        pending_.pop_front();
        ++first_tag_;
        ++n;
      }
      if (head.st == state::acked) {
        m_.confirmed(n, head.intended);
      } else {
        m_.publish_failed(n);
      }
    }
  }

  measurement& m_;
  std::mutex& report_mu_;
  std::deque<entry> pending_;  // tags first_tag_, first_tag_ + 1, ...
  uint64_t first_tag_ = 1;
};

}  // namespace ferry::bench::rabbitmq
