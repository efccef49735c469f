// measurement: what one run of a workload against one system measured, and the checks.
//
// Every payload starts with the message's sequence number (u64 LE) and its intended send
// time (i64 LE, ns since the run's t0), then filler (random for random_payload_ratio of it).
// Drivers stamp payloads with make_payload() and hand what readers receive to on_message();
// the measurement counts per reader, finds loss and duplicates, and records latency within
// the measured window.
//
// Several topics: message `seq` goes to topic seq % topics, and readers are numbered topic
// by topic (reader r reads topic r / subscriptions_per_topic; readers = topics x
// subscriptions_per_topic), so a reader must see every message of its own topic.
//
// Threads: on_message(reader, ...) must be called for a given reader from one thread at a
// time (different readers may use different threads). Publishing-side calls (sent,
// confirmed, ack_latency) come from one publishing thread at a time. Phase times are set
// before any of these.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bench/histogram.h"
#include "bench/workload.h"

namespace ferry::bench {

using steady = std::chrono::steady_clock;

class measurement {
 public:
  // `readers` = subscriptions (or log readers) that must each see every message.
  measurement(const workload& w, size_t readers);
  ~measurement();  // in measurement.cpp, where `reader` is complete

  // ---- phases ----
  // Starts the clock: warm-up, then the measured window, then stop.
  void start(steady::time_point t0);
  steady::time_point t0() const { return t0_; }
  bool in_window(steady::time_point t) const { return t >= window_start_ && t < window_end_; }
  bool past_end(steady::time_point t) const { return t >= window_end_; }
  // Open loop: when message `seq` is due at `rate` messages/s.
  steady::time_point due(uint64_t seq) const;

  // ---- publishing side ----
  // The payload of message `seq`, stamped with `intended` (its due time, or now for
  // max-rate publishers). Drivers stamp a message when they send it: for fixed-rate
  // workloads, how late that is against `intended` goes into the send-lag histogram, so a
  // load generator that falls behind its schedule shows (and is told apart from a slow
  // system, whose delay shows in the latencies).
  std::string make_payload(uint64_t seq, steady::time_point intended);
  // The same into `payload` (resized to message_size; reuses its capacity).
  void stamp(std::string& payload, uint64_t seq, steady::time_point intended);
  uint64_t next_sequence() { return sent_.fetch_add(1); }
  uint64_t sent() const { return sent_.load(); }
  // `n` messages confirmed by the system, sent at `intended` (for ack latency).
  void confirmed(uint64_t n, steady::time_point intended);
  void publish_failed(uint64_t n) { publish_errors_ += n; }

  // ---- reading side ----
  void on_message(size_t reader, std::string_view payload);
  uint64_t received(size_t reader) const;
  uint64_t slowest_received() const;
  // Every reader saw every message sent.
  bool drained() const;

  // ---- catch-up runs ----
  // Run when the reading begins, before its clock starts (a cold read drops the server's
  // page cache here).
  void before_catchup(std::function<void()> prepare) { prepare_ = std::move(prepare); }
  // The reading begins: `before_catchup`'s preparation, then the catch-up clock starts.
  void begin_catchup();
  // A restart before the read: how long from the kill until the server served again.
  void restarted(double seconds) { restart_s_ = seconds; }
  // A cold read's preparation: the server's data files and what of them stayed cached.
  void cache_dropped(uint64_t file_bytes, uint64_t resident_bytes) {
    cold_file_bytes_ = file_bytes;
    cold_resident_bytes_ = resident_bytes;
  }
  void catchup_finished(steady::time_point t) { catchup_end_ = t; }

  // ---- idle-connection runs ----
  void idle_connections(uint64_t opened, int64_t rss_before, int64_t rss_after);
  // ---- idle topics ----
  void idle_topics(uint64_t created, int64_t rss_before, int64_t rss_after);

  // ---- results ----
  struct result {
    std::string workload, system, equivalence, unsupported;  // unsupported: the reason, or empty
    double acked_per_s = 0, delivered_per_s = 0, mb_per_s = 0;
    uint64_t sent = 0, confirmed = 0, publish_errors = 0, lost = 0, duplicated = 0;
    histogram ack_latency_ns, e2e_latency_ns;
    histogram send_lag_ns;  // fixed-rate workloads: actual minus intended send time
    double server_cpu_s = 0;
    uint64_t server_peak_rss_bytes = 0;
    uint64_t idle_connections = 0;
    double bytes_per_connection = 0;
    uint64_t idle_topics = 0;
    double bytes_per_topic = 0;  // the server's RSS growth per idle topic
    // Memory backlogs: the server's peak RSS less its RSS at the start, per message.
    double bytes_per_message = 0;
    // Cold catch-up reads: the server's data files, and what of them stayed in the page
    // cache after the drop.
    uint64_t cold_file_bytes = 0, cold_resident_bytes = 0;
    double restart_s = 0;  // restart runs: from the kill until the server served again
    std::string error;     // the run failed: why
  };
  result finish(const std::string& system, double server_cpu_s,
                uint64_t server_peak_rss_bytes) const;

 private:
  struct reader;
  workload w_;
  std::vector<std::unique_ptr<reader>> readers_;
  std::atomic<uint64_t> sent_{0};
  std::atomic<uint64_t> confirmed_{0}, confirmed_in_window_{0}, publish_errors_{0};
  histogram ack_latency_, send_lag_;  // publishing thread only
  steady::time_point t0_, window_start_, window_end_, catchup_start_, catchup_end_;
  std::function<void()> prepare_;
  uint64_t cold_file_bytes_ = 0, cold_resident_bytes_ = 0;
  double restart_s_ = 0;
  uint64_t idle_opened_ = 0;
  int64_t rss_before_ = 0, rss_after_ = 0;
  uint64_t idle_topics_ = 0;
  double bytes_per_topic_ = 0;
  std::string filler_;                  // make_filler(): the 'x' part, then the random pool, if any
  size_t payload_size_, random_bytes_;  // of each message
};

// Output: one JSON object per line (raw histograms included) and a Markdown table row.
std::string to_json(const measurement::result& r);
std::string markdown_header();
std::string to_markdown(const measurement::result& r);

}  // namespace ferry::bench
