// What the NATS drivers (nats_driver.cpp: core NATS, nats_jetstream.cpp: JetStream) share:
// subjects and readers of a workload, the publishing loop, draining.
#pragma once

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <sys/prctl.h>

#include "bench/driver.h"
#include "bench/drivers/nats_client.h"

namespace ferry::bench::nats_shared {

using namespace std::chrono_literals;
namespace nc = ferry::bench::nats;

inline constexpr const char* subject_prefix = "ferry-bench.";
// JetStream: a stream per topic, "FERRY_BENCH_<k>" holding subject "ferry-bench.<k>" (as
// a user with 1,000 queues would make 1,000 streams; one stream with 1,000 filtered
// consumers tests every message against every consumer).
inline std::string stream_name(uint32_t topic) {
  return "FERRY_BENCH_" + std::to_string(topic);
}
inline constexpr auto drain_time = 5s;
inline constexpr auto catchup_limit = 600s;

inline ferry::error not_supported(const std::string& why) {
  return {make_error_code(errc::not_supported), why};
}

// Topic k is subject "ferry-bench.<k>"; message `seq` goes to topic seq % topics and
// reader i reads topic i / subscriptions_per_topic (as measurement.cpp counts them).
inline std::vector<std::string> subjects(const workload& w) {
  std::vector<std::string> s;
  for (uint32_t k = 0; k < std::max<uint32_t>(w.topics, 1); ++k)
    s.push_back(subject_prefix + std::to_string(k));
  return s;
}

inline uint32_t reader_count(const workload& w) {
  return std::max<uint32_t>(w.topics, 1) * w.subscriptions_per_topic;
}

inline uint32_t topic_of_reader(const workload& w, uint32_t i) {
  return i / std::max<uint32_t>(w.subscriptions_per_topic, 1);
}

// Sets the calling thread's timer slack for its lifetime.
class timer_slack {
 public:
  explicit timer_slack(unsigned long ns) : old_(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)) {
    prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
  }
  ~timer_slack() {
    if (old_ > 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_), 0, 0, 0);
  }
  timer_slack(const timer_slack&) = delete;
  timer_slack& operator=(const timer_slack&) = delete;

 private:
  int old_;
};

// Publishes from the calling thread until the measured window ends, or, with `total` > 0,
// until `total` messages are out (catch-up writing). `publish(seq, payload)` sends one;
// `after(n, intended)` runs after each batch (core NATS confirms there).
template <class Publish, class After>
ferry::error publish_loop(const workload& w, measurement& m, nc::flow& fl, uint64_t total,
                          Publish publish, After after) {
  std::string payload;
  if (w.producer_rate != 0 && total == 0) {
    // Open loop: message i is sent at its due time and stamped with it, however late. A
    // 1 ns timer slack (default 50 µs) keeps the sleeps from adding latency of their own.
    timer_slack fine(1);
    for (;;) {
      auto due = m.due(m.sent());
      if (m.past_end(due)) return {};
      std::this_thread::sleep_until(due);
      auto now = steady::now();
      while (m.due(m.sent()) <= now && !m.past_end(m.due(m.sent()))) {
        uint64_t seq = m.next_sequence();
        m.stamp(payload, seq, m.due(seq));
        if (auto e = publish(seq, payload)) return e;
        after(1, m.due(seq));
      }
    }
  }
  auto give_up = steady::now() + catchup_limit;
  for (;;) {
    auto now = steady::now();
    if (total == 0 ? m.past_end(now) : m.sent() >= total) return {};
    if (total != 0 && now >= give_up) return {make_error_code(errc::timeout), "writing stalled"};
    if (!fl.wait_for_room(total == 0, now + 50ms)) continue;
    uint64_t n = w.batch == 0 ? 1 : w.batch;
    if (total != 0) n = std::min(n, total - m.sent());
    auto intended = steady::now();
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t seq = m.next_sequence();
      m.stamp(payload, seq, intended);
      if (auto e = publish(seq, payload)) return e;
    }
    after(n, intended);
  }
}

// Waits until every reader has every message and every confirm is in, or `limit` passed.
inline void drain(measurement& m, nc::flow& fl, std::chrono::seconds limit) {
  auto deadline = steady::now() + limit;
  while ((!m.drained() || fl.unconfirmed() != 0) && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
}

}  // namespace ferry::bench::nats_shared
