// One benchmark run against ferryd: set up the topic and readers, publish (max rate within a
// window, or open loop at a fixed rate), measure, check that nothing was lost or
// duplicated, report.
//
// Everything runs on one io_context thread (the caller's), so on a 2-core machine the
// broker has the other core.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/broker_stats.h"
#include "bench/histogram.h"
#include "bench/workload.h"
#include "ferry/client/client.h"

namespace ferry::bench {

struct settings {
  workload w;
  double warmup_s = 2;
  double duration_s = 10;
  uint32_t window = 20000;  // messages in flight (max-rate publishers)
  uint32_t batch = 500;     // messages per publish call (max-rate publishers)
  uint32_t prefetch = 10000;
  std::string host;
  uint16_t port = 0;
};

class run {
 public:
  using steady = std::chrono::steady_clock;

  run(boost::asio::io_context& io, settings s);
  ~run();

  void start();
  void fail(const std::string& why);
  // Every reader has received every message sent.
  bool drained() const;
  // Prints the Markdown row (stdout) and the JSON line (stderr); returns the exit status.
  int report(const broker_stats& stats);

 private:
  struct sink;

  client::client_options client_options() const;
  void create_topic();
  void connect_reader(uint32_t i);
  void attach_reader(uint32_t i);
  void on_delivery(sink& k, const client::delivery& d);
  void begin_phases();
  void pump();
  void on_batch_confirmed(uint32_t n, steady::time_point sent, const error& e,
                          const client::batch_result& r);
  void paced();
  void begin_catchup();
  uint64_t slowest_received() const;
  client::message make(uint64_t seq, int64_t stamp_ns);
  bool in_window(steady::time_point t) const {
    return measuring_ && t >= window_start_ && t < window_end_;
  }

  boost::asio::io_context& io_;
  settings s_;
  std::string topic_;
  std::unique_ptr<client::client> publisher_;
  std::vector<std::unique_ptr<client::client>> reader_clients_;
  std::vector<std::unique_ptr<sink>> sinks_;
  boost::asio::steady_timer pace_;

  uint64_t next_seq_ = 0, confirmed_ = 0, confirmed_in_window_ = 0, publish_errors_ = 0,
           inflight_ = 0;
  histogram ack_latency_ns_;
  steady::time_point t0_, window_start_, window_end_, stop_at_;
  steady::time_point catchup_start_, catchup_end_;
  bool measuring_ = false, stopping_ = false, failed_ = false, catching_up_ = false;
  std::string filler_;
};

}  // namespace ferry::bench
