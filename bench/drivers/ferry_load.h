// ferry_load: one messaging run of a workload against ferryd through libferry (the ferry
// driver's load generator; ferry_driver.cpp runs it).
//
// Owns the clients: one per producer, one per consumer. The producers and the run's own
// state live on the caller's io_context thread (`io`); each consumer has an io_context and
// a thread of its own, as the peers' drivers give each connection a thread, so readers are
// not limited to one core. Consumer threads touch only their slot's client, the
// measurement (their reader) and atomics; everything else they post to `io`.
// Lifecycle: construct, start(), io.run() returns once the publishing is done (catch-up:
// once the readers have everything) or the run failed; the caller then drains (runs the
// io_context until measurement::drained()), start_teardown(), runs it until torn_down().
// The destructor stops and joins the consumer threads.
//
// Publishing: max-rate publishers keep at most `window` messages sent but neither
// confirmed nor received by the slowest reader, in batches of `batch`; fixed-rate ones are
// open loop (message i due at measurement::due(i) and stamped with that time). Message i
// goes to topic i % topics (measurement.h), through the topic's producers in turn.
#pragma once

#include <atomic>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/driver.h"
#include "bench/measurement.h"
#include "bench/workload.h"
#include "ferry/client/client.h"

namespace ferry::bench {

// Unique per process and run, so runs against one long-lived broker never share names.
std::string make_run_id();
// The topic option for a workload's durability.
v1::FsyncPolicy fsync_policy(durability d);
// How the ferry driver's clients connect to `at` (TLS, credentials, a 64 MiB publish window).
client::client_options ferry_client_options(const endpoint& at);

class ferry_load {
 public:
  ferry_load(boost::asio::io_context& io, const workload& w, const endpoint& at, measurement& m);
  ~ferry_load();
  ferry_load(const ferry_load&) = delete;
  ferry_load& operator=(const ferry_load&) = delete;

  void start();
  // Ends the run as failed (the first reason is kept) and stops the io_context.
  void fail(const std::string& why);
  bool failed() const { return !failure_.empty(); }
  const std::string& failure() const { return failure_; }
  // Closes the consumers, deletes what the run created (best effort), closes the clients.
  void start_teardown();
  bool torn_down() const { return torn_down_; }

 private:
  struct slot;  // one consumer: its client and thread, what it reads, its measurement reader

  client::client_options client_options() const;
  void connect_producer(size_t i);
  void create_topic(size_t t);
  void create_backlog_subscription(uint32_t reader);
  void plan_consumers();
  void connect_consumer(size_t i);
  void attach_consumer(size_t i);
  boost::asio::io_context& loop_of(slot& k);  // the slot's own loop, or io_ (one thread)
  void consumer_ready(size_t i);              // consumer i is reading: on to the next (on io_)
  void on_delivery(slot& k, const client::delivery& d);  // consumer threads
  // From consumer threads: what must run on io_.
  void post_fail(const std::string& why);
  void post_pump();
  void begin_phases();
  void pump();
  void publish_batch(uint32_t topic, std::vector<client::message> batch,
                     std::chrono::steady_clock::time_point sent_at);
  void paced();
  void publishing_done();
  void begin_catchup();
  client::client& producer_for(uint32_t topic, uint64_t turn);
  void delete_next(size_t i);

  boost::asio::io_context& io_;
  workload w_;
  endpoint at_;
  measurement& m_;
  std::string run_id_;
  std::vector<std::string> topics_;
  std::vector<std::unique_ptr<client::client>> producers_;  // topic t: [t * P, t * P + P)
  std::vector<uint64_t> producer_turn_;                     // per topic: round robin
  std::vector<std::unique_ptr<slot>> slots_;
  // Competing consumers of one subscription, each on its own thread, hand their deliveries
  // to one measurement reader, which takes one thread at a time: one lock per reader.
  std::vector<std::unique_ptr<std::mutex>> reader_locks_;
  bool refilling_ = false;  // max rate: the window was full (see workload::refill_half)
  boost::asio::steady_timer pace_;
  uint64_t inflight_ = 0;
  bool max_rate_, acks_, catchup_;
  bool catching_up_ = false, torn_down_ = false;
  std::atomic<bool> stopping_{false}, closing_{false};
  std::atomic<bool> pump_posted_{false}, catchup_done_{false};
  std::string failure_;
};

}  // namespace ferry::bench
