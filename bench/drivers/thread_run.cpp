#include "bench/drivers/thread_run.h"

#include <sys/socket.h>

namespace ferry::bench {

using namespace std::chrono_literals;

thread_run::thread_run(const workload& w, measurement& m, limits l) : w_(w), m_(m), limits_(l) {
  for (size_t r = 0; r < size_t{w.topics} * w.subscriptions_per_topic; ++r)
    reader_mu_.push_back(std::make_unique<std::mutex>());
}

void thread_run::fail(const std::string& why) {
  std::lock_guard lock(mu_);
  if (failure_.empty()) failure_ = why;
  failed_ = true;
  go_ = true;  // producers waiting for the start see the failure
  go_.notify_all();
}

void thread_run::track(int fd) {
  std::lock_guard lock(mu_);
  fds_.push_back(fd);
}

void thread_run::shut_down_sockets() {
  std::lock_guard lock(mu_);
  for (int fd : fds_)
    ::shutdown(fd, SHUT_RDWR);
}

bool thread_run::wait_for(const std::atomic<uint32_t>& count, uint32_t n, clock::duration limit) {
  auto until = clock::now() + limit;
  while (count.load() < n && !failed()) {
    if (clock::now() >= until) return false;
    std::this_thread::sleep_for(1ms);
  }
  return !failed();
}

bool thread_run::wait_for_go() {
  // Asleep until woken: 1,000 producers polling a flag would starve the server of CPU
  // while the others still connect.
  go_.wait(false);
  return !failed();
}

void thread_run::deliver(size_t reader, std::string_view payload) {
  if (consumers_per_reader() > 1) {
    std::lock_guard lock(*reader_mu_[reader]);
    m_.on_message(reader, payload);
  } else {
    m_.on_message(reader, payload);
  }
  if (catching_up_ && !catchup_done_.load(std::memory_order_relaxed) && m_.drained() &&
      !catchup_done_.exchange(true))
    m_.catchup_finished(clock::now());
}

std::string thread_run::execute() {
  if (auto e = setup(); !e.empty()) {
    teardown();
    return e;
  }
  run_phases();
  stop_reading_ = true;
  if (failed()) shut_down_sockets();  // unblocks whatever waits on the server
  for (auto& t : producers_)
    t.join();
  for (auto& t : readers_)
    t.join();
  teardown();
  std::lock_guard lock(mu_);
  return failure_;
}

void thread_run::start_readers() {
  for (size_t r = 0; r < readers(); ++r)
    for (uint32_t k = 0; k < consumers_per_reader(); ++k)
      readers_.emplace_back([this, r, k] { read(r, k); });
}

// Returns early once the run failed.
void thread_run::run_phases() {
  const bool catchup = w_.catchup_bytes != 0;
  auto reader_threads = static_cast<uint32_t>(readers() * consumers_per_reader());
  if (!catchup) {
    start_readers();
    if (!wait_for(readers_ready_, reader_threads, limits_.start))
      return fail("readers did not start");
  }
  uint32_t producers = w_.topics * w_.producers_per_topic;
  for (uint32_t i = 0; i < producers; ++i)
    producers_.emplace_back([this] {
      struct done_guard {
        std::atomic<uint32_t>& done;
        ~done_guard() { ++done; }
      } guard{producers_done_};
      produce();
    });
  if (!wait_for(producers_ready_, producers, limits_.start)) return fail("producers did not start");
  m_.start(clock::now());
  go_ = true;
  go_.notify_all();
  // Publishing ends by itself (past the window, or everything written); this only bounds it.
  auto limit = std::chrono::duration<double>(w_.warmup_s + w_.duration_s) + limits_.confirm +
               (catchup ? 600s : 20s);
  if (!wait_for(producers_done_, producers, std::chrono::duration_cast<clock::duration>(limit)))
    return fail("publishing did not finish in time");
  if (catchup) {
    catching_up_ = true;
    // Timed from before the readers connect, as every driver does.
    m_.begin_catchup();
    start_readers();
    auto until = clock::now() + 600s;
    while (!catchup_done_ && !failed() && clock::now() < until)
      std::this_thread::sleep_for(1ms);
    if (!catchup_done_) return fail("the catch-up read did not finish in time");
  }
  auto until = clock::now() + limits_.drain;
  while (!m_.drained() && !failed() && clock::now() < until)
    std::this_thread::sleep_for(1ms);
}

}  // namespace ferry::bench
