// rabbitmq_idle: many idle AMQP connections, for what a connection costs RabbitMQ (the
// RabbitMQ driver's connections-N workloads), and many idle queues (idle_topics).
//
// Each connection logs in (connection.open, heartbeats off) and opens no channel. A few
// threads open them at once; the destructor closes them politely, in parallel. Owned and
// used by one thread (the driver's).
#pragma once

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench/driver.h"
#include "bench/drivers/rabbitmq_amqp.h"
#include "bench/idle_connections.h"
#include "proto/codec/errc.h"

namespace ferry::bench::rabbitmq {

using steady_clock = std::chrono::steady_clock;

inline ferry::error idle_error(const std::string& why) {
  return {make_error_code(errc::internal), "rabbitmq: " + why};
}

// AMQP connections (login, no channel) opened by a few threads at once, held until
// destroyed (closed politely, in parallel).
class idle_links {
 public:
  static constexpr uint32_t threads = 8;

  ~idle_links() {
    if (links_.empty()) return;
    std::atomic<size_t> next{0};
    parallel([&] {
      for (size_t i = next++; i < links_.size(); i = next++)
        links_[i].reset();
    });
  }

  // Opens `n` within `limit`; the error text, or empty.
  std::string open(const endpoint& at, uint32_t n, steady_clock::duration limit) {
    links_.resize(n);
    std::atomic<uint32_t> next{0};
    std::mutex mu;
    std::string failure;
    auto until = steady_clock::now() + limit;
    parallel([&] {
      for (uint32_t i = next++; i < n; i = next++) {
        if (steady_clock::now() >= until) return;
        auto l = std::make_unique<amqp_link>();
        auto e = l->open(at.host, at.port, std::chrono::seconds(30), false);
        std::lock_guard lock(mu);
        if (!e.empty()) {
          if (failure.empty())
            failure =
                "idle connection " + std::to_string(i + 1) + " of " + std::to_string(n) + ": " + e;
          next = n;
          return;
        }
        links_[i] = std::move(l);
        ++opened_;
      }
    });
    if (failure.empty() && opened_ < n)
      failure =
          std::to_string(opened_) + " of " + std::to_string(n) + " idle connections open in time";
    return failure;
  }

  uint32_t opened() const { return opened_; }

 private:
  template <typename F>
  void parallel(F f) {
    std::vector<std::thread> ts;
    for (uint32_t i = 0; i < threads; ++i)
      ts.emplace_back(f);
    for (auto& t : ts)
      t.join();
  }

  std::vector<std::unique_ptr<amqp_link>> links_;
  uint32_t opened_ = 0;
};

inline ferry::error run_idle(const workload& w, const endpoint& at, measurement& m,
                             idle_links& idle) {
  auto e = measure_idle_connections(w, at, m, [&](std::string& error) {
    error = idle.open(at, w.idle_connections,
                      std::chrono::seconds(30) + std::chrono::seconds(w.idle_connections / 200));
    return idle.opened();
  });
  return e.empty() ? ferry::error{} : idle_error(e);
}

// Idle topics: `n` durable queues of `queue_type` ("stream", "classic"), declared one
// after the other on one channel.
inline ferry::error create_idle_queues(const endpoint& at, uint32_t n, const char* queue_type) {
  amqp_link link;
  if (auto e = link.open(at.host, at.port, std::chrono::seconds(30)); !e.empty())
    return idle_error(e);
  one_arg type("x-queue-type", queue_type);
  const std::string prefix = "ferry-bench-idle-" + std::to_string(::getpid()) + "-";
  for (uint32_t i = 0; i < n; ++i) {
    std::string name = prefix + std::to_string(i);
    amqp_queue_declare(link.get(), link.channel, bytes(name), 0, 1, 0, 0, type.table());
    if (auto e = link.check("queue.declare"); !e.empty()) return idle_error(e);
  }
  return {};
}

}  // namespace ferry::bench::rabbitmq
