// redis_replies: a producer's pipelined publishes (PUBLISH or XADD) awaiting their replies,
// turned into measurement::confirmed / publish_failed calls.
//
// Redis answers a connection's commands in order, so the replies settle the oldest
// commands first; runs of them sent at the same time are reported at once. Used by the
// producer's thread only; `report_mu` serialises the measurement's publishing side between
// producers (measurement.h: one publishing thread at a time).
#pragma once

#include <chrono>
#include <cstdint>
#include <deque>
#include <mutex>

#include "bench/measurement.h"

namespace ferry::bench::redis {

class reply_tracker {
 public:
  reply_tracker(measurement& m, std::mutex& report_mu) : m_(m), report_mu_(report_mu) {}
  void sent(std::chrono::steady_clock::time_point intended) { pending_.push_back(intended); }
  size_t outstanding() const { return pending_.size(); }
  // The reply of the oldest command: an error reply is a failed publish.
  void settle(bool ok) {
    auto t = pending_.front();
    pending_.pop_front();
    if (ok && run_ != 0 && t == run_at_) {
      ++run_;
      return;
    }
    report();
    if (ok) {
      run_at_ = t;
      run_ = 1;
    } else {
      std::lock_guard lock(report_mu_);
      m_.publish_failed(1);
    }
  }
  void report() {
    if (run_ == 0) return;
    std::lock_guard lock(report_mu_);
    m_.confirmed(run_, run_at_);
    run_ = 0;
  }

 private:
  measurement& m_;
  std::mutex& report_mu_;
  std::deque<std::chrono::steady_clock::time_point> pending_;
  std::chrono::steady_clock::time_point run_at_;
  uint64_t run_ = 0;
};

}  // namespace ferry::bench::redis
