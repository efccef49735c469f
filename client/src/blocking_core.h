// The I/O thread of the blocking facade and the helpers that run async operations on it
// and wait for them. Shared by blocking_client.cpp and blocking_log_consumer.cpp.
#pragma once

#include <atomic>
#include <future>
#include <memory>
#include <mutex>
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
