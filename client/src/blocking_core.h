// The I/O thread of the blocking facade and the helpers that run async operations on it
// and wait for them. Shared by blocking_client.cpp and blocking_log_consumer.cpp.
#pragma once

#include <atomic>
#include <condition_variable>
#include <deque>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>

#include "client/src/client_impl.h"
#include "ferry/client/blocking_client.h"
#include "ferry/client/client.h"

namespace ferry::client::detail {

// The I/O thread and the client living on it. Shared by the blocking_client and its
// consumers, which may outlive it. Lifecycle: make() -> start() -> shutdown() (joins).
// Deliveries handed from the I/O thread to the application's thread, for the blocking
// consumers (memory subscriptions and log readers).
struct delivery_queue {
  void push(const delivery& d) {
    {
      std::lock_guard lock(m);
      q.push_back(d);
    }
    cv.notify_one();
  }
  void close_with(const error& e) {
    {
      std::lock_guard lock(m);
      closed = true;
      reason = e;
    }
    cv.notify_all();
  }
  // Waits (a negative timeout or milliseconds::max() without limit) until a delivery is
  // queued or the queue closed; takes the next one, if any. `lock` holds `m`.
  std::optional<delivery> take(std::unique_lock<std::mutex>& lock,
                               std::chrono::milliseconds timeout) {
    auto ready = [&] { return !q.empty() || closed; };
    if (timeout.count() < 0 || timeout == std::chrono::milliseconds::max()) {
      cv.wait(lock, ready);
    } else if (!cv.wait_for(lock, timeout, ready)) {
      return std::nullopt;
    }
    if (q.empty()) return std::nullopt;
    delivery d = std::move(q.front());
    q.pop_front();
    return d;
  }
  error closed_reason() const {
    std::lock_guard lock(m);
    return reason;
  }

  mutable std::mutex m;
  std::condition_variable cv;
  std::deque<delivery> q;
  bool closed = false;
  error reason;
};

struct io_core {
  asio::io_context ioc{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{ioc.get_executor()};
  std::unique_ptr<client> c;  // used on the I/O thread only, after start()
  std::thread thread;
  std::mutex m;
  bool stopped = false;
  std::atomic<connection_state> state{connection_state::disconnected};

  ~io_core() { shutdown(); }

  void start() {
    thread = std::thread([this] { ioc.run(); });
  }
  // Runs `f` on the I/O thread; false once shut down. Everything posted before
  // shutdown() still runs (before the client closes).
  template <typename F>
  bool post(F&& f) {
    std::lock_guard lock(m);
    if (stopped) return false;
    asio::post(ioc, std::forward<F>(f));
    return true;
  }
  // Closes the client (failing what is pending) and joins the I/O thread. Not from it.
  void shutdown() {
    {
      std::lock_guard lock(m);
      if (stopped) return;
      stopped = true;
      asio::post(ioc, [this] { c.reset(); });  // ~client closes
      work.reset();
    }
    if (thread.joinable()) thread.join();
  }
};

inline error closed_error() {
  return make_error(errc::disconnected, "client closed");
}

// Runs start(client&, done) on the I/O thread and waits for done(error, T).
template <typename T, typename Start>
result<T> call(io_core& core, Start start) {
  auto p = std::make_shared<std::promise<std::pair<error, T>>>();
  auto fut = p->get_future();
  bool posted = core.post([&core, p, start = std::move(start)]() mutable {
    if (!core.c) {
      p->set_value({closed_error(), T{}});
      return;
    }
    start(*core.c, [p](error e, T v) { p->set_value({std::move(e), std::move(v)}); });
  });
  if (!posted) return closed_error();
  try {
    auto [e, v] = fut.get();
    if (e) return e;
    return std::move(v);
  } catch (const std::future_error&) {  // the handler was dropped unrun: client gone
    return closed_error();
  }
}

template <typename Start>
error call_void(io_core& core, Start start) {
  auto r = call<ok_t>(core, [start = std::move(start)](client& c, auto done) mutable {
    start(c, [done = std::move(done)](error e) mutable { done(std::move(e), ok_t{}); });
  });
  return r ? error{} : r.err();
}

}  // namespace ferry::client::detail

namespace ferry::client {

struct blocking_client::impl {
  std::shared_ptr<detail::io_core> core;
};

}  // namespace ferry::client
