// thread_run: one run of a workload for the drivers whose client libraries block
// (rabbitmq-c, hiredis): every producer and every reader is a thread with a connection of
// its own, and the caller's thread runs the phases. A driver's run derives from it and says
// how to set up, produce, read and tear down; thread_run orders the phases, bounds each in
// time, collects the first failure, and on failure shuts the sockets down so that no
// thread stays blocked on the server.
//
// Phases (execute): setup() -> readers (catch-up runs: after the writing), each calling
// reader_started() once it reads -> producers, each calling producer_started() once it is
// connected, then waiting in wait_for_go() -> measurement start -> publishing ends by
// itself (past the window, or everything written) -> catch-up read, if any -> drain (every
// reader has every message, or drain_limit) -> threads joined -> teardown().
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "bench/measurement.h"
#include "bench/workload.h"

namespace ferry::bench {

class thread_run {
 public:
  using clock = std::chrono::steady_clock;
  struct limits {
    clock::duration start;                               // connecting, setting up
    clock::duration confirm = std::chrono::seconds(10);  // last confirms after publishing
    clock::duration drain = std::chrono::seconds(5);     // last deliveries after that
  };

  virtual ~thread_run() = default;
  thread_run(const thread_run&) = delete;
  thread_run& operator=(const thread_run&) = delete;

  // The whole run; the first failure, or empty.
  std::string execute();

 protected:
  thread_run(const workload& w, measurement& m, limits l);

  // ---- what a driver provides ----
  virtual std::string setup() = 0;  // before any thread starts; an error ends the run
  virtual void teardown() = 0;      // after every thread is joined; best effort
  virtual void produce() = 0;       // one producer thread
  virtual void read(size_t reader, uint32_t consumer) = 0;  // one reader thread
  virtual size_t readers() const = 0;                       // measurement readers
  virtual uint32_t consumers_per_reader() const = 0;        // threads per reader

  // ---- for the threads ----
  void fail(const std::string& why);
  bool failed() const { return failed_.load(std::memory_order_relaxed); }
  // Every socket of the run's threads: shut down on failure, which unblocks them.
  void track(int fd);
  void producer_started() { ++producers_ready_; }
  // Until the measured phases begin; false once the run failed.
  bool wait_for_go();
  void reader_started() { ++readers_ready_; }
  bool stop_reading() const { return stop_reading_.load(std::memory_order_relaxed); }
  bool catching_up() const { return catching_up_; }
  // A payload that reader `reader` received (serialised when a reader has several
  // consumers); notes the end of a catch-up read.
  void deliver(size_t reader, std::string_view payload);

  // How a producer thread publishes, given its connection's operations, each of which
  // returns false once the run failed: unconfirmed() counts what the server has not
  // answered yet; poll(wait) handles its answers, waiting at most `wait`; send_batch(now)
  // publishes w_.batch messages stamped `now`; send(seq, due) publishes message `seq`.
  //
  // Max rate: at most `window` messages sent but not received by the slowest reader
  // (catch-up: not yet confirmed; each producer its share), in batches. Once full, the
  // window refills as the workload says for every driver (refill_half: once half of it
  // emptied; else as soon as a batch fits), the producer waiting in poll() for answers (at
  // most 100 us: the readers' progress comes on no socket of its own).
  template <typename Unconfirmed, typename Poll, typename SendBatch>
  void publish_max_rate(Unconfirmed unconfirmed, Poll poll, SendBatch send_batch);
  // Fixed rate, open loop: message i is due at measurement::due(i) and stamped with that
  // time, however late it leaves; answers are handled while waiting.
  template <typename Poll, typename Send>
  void publish_fixed_rate(Poll poll, Send send);

  const workload& w_;
  measurement& m_;
  const limits limits_;
  std::mutex report_mu_;  // the measurement's publishing side, shared by the producers

 private:
  void run_phases();
  void start_readers();
  bool wait_for(const std::atomic<uint32_t>& count, uint32_t n, clock::duration limit);
  void shut_down_sockets();

  std::vector<std::unique_ptr<std::mutex>> reader_mu_;
  std::vector<std::thread> producers_, readers_;
  std::atomic<uint32_t> producers_ready_{0}, producers_done_{0}, readers_ready_{0};
  std::atomic<bool> go_{false}, stop_reading_{false}, failed_{false}, catchup_done_{false};
  bool catching_up_ = false;  // set before the catch-up readers start
  std::mutex mu_;             // guards failure_ and fds_
  std::string failure_;
  std::vector<int> fds_;
};

template <typename Unconfirmed, typename Poll, typename SendBatch>
void thread_run::publish_max_rate(Unconfirmed unconfirmed, Poll poll, SendBatch send_batch) {
  using namespace std::chrono_literals;
  const bool catchup = w_.catchup_bytes != 0;
  const uint64_t own_window =
      std::max<uint64_t>(1, w_.window / std::max<uint32_t>(1, w_.topics * w_.producers_per_topic));
  bool waiting = false;
  while (!failed()) {
    auto now = clock::now();
    if (catchup ? m_.sent() * w_.message_size >= w_.catchup_bytes : m_.past_end(now)) return;
    uint64_t unread = catchup ? 0 : m_.sent() - m_.slowest_received();
    const bool half = waiting && w_.refill_half;
    if (unconfirmed() >= (half ? own_window / 2 + 1 : own_window) ||
        unread >= (half ? w_.window / 2 + 1 : w_.window)) {
      waiting = true;
      if (!poll(100us)) return;
      continue;
    }
    waiting = false;
    if (!send_batch(now) || !poll(0us)) return;
  }
}

template <typename Poll, typename Send>
void thread_run::publish_fixed_rate(Poll poll, Send send) {
  using namespace std::chrono_literals;
  using us = std::chrono::microseconds;
  // Each producer takes the next message at once and waits for its due time: producers
  // wake one at a time, in turn, never all at the same instant (a herd of 1,000 threads
  // on 2 cores would make the load generator the bottleneck).
  while (!failed()) {
    if (m_.past_end(clock::now())) return;
    uint64_t seq = m_.next_sequence();
    auto due = m_.due(seq);
    for (auto t = clock::now(); t < due; t = clock::now())
      if (!poll(std::chrono::duration_cast<us>(due - t))) return;
    if (!send(seq, due) || !poll(0us)) return;
  }
}

}  // namespace ferry::bench
