// ferry_loop: what the ferry driver's blocking-orchestrated runs (ferry_request.cpp,
// ferry_group.cpp) share: a loop on a thread of its own holding libferry clients, and a
// bounded wait for an operation started with asio::use_future.
#pragma once

#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>
#include <tuple>
#include <type_traits>
#include <vector>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_future.hpp>

#include "bench/driver.h"
#include "bench/drivers/ferry_load.h"
#include "ferry/client/client.h"

namespace ferry::bench {

inline ferry::error ferry_run_error(const std::string& why) {
  return {make_error_code(errc::internal), why};
}

// Waits (10 s at most) for an operation started with asio::use_future; its result's
// ferry::error, prefixed with `what`. `out`, if given, receives the rest of the result.
template <typename Future, typename Out = std::nullptr_t>
ferry::error wait_for(Future f, const std::string& what, Out out = nullptr) {
  if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
    return ferry_run_error(what + ": no answer in 10 s");
  auto result = f.get();
  ferry::error e;
  if constexpr (std::is_same_v<decltype(result), ferry::error>) {
    e = result;
  } else {
    e = std::get<0>(result);
    if constexpr (!std::is_same_v<Out, std::nullptr_t>) *out = std::move(std::get<1>(result));
  }
  if (e) return ferry_run_error(what + ": " + e.to_string());
  return {};
}

// A loop on a thread of its own with the clients that live on it; on destruction the
// clients are closed on it, the loop stopped and joined, then the clients destroyed
// (their handlers may refer to them).
struct client_loop {
  boost::asio::io_context io{1};
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work{io.get_executor()};
  std::vector<std::unique_ptr<client::client>> clients;
  std::vector<client::consumer> consumers;
  std::vector<client::log_consumer> readers;
  std::thread thread{[this] { io.run(); }};

  client_loop() = default;
  client_loop(const client_loop&) = delete;
  client_loop& operator=(const client_loop&) = delete;
  ~client_loop() {
    boost::asio::post(io, [this] {
      for (auto& c : clients)
        c->close();
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(50));  // the closes go out
    work.reset();
    io.stop();
    thread.join();
    consumers.clear();
    readers.clear();
    clients.clear();
  }

  // Runs `op` on the loop (libferry's clients are used from their executor only): it starts
  // an operation with asio::use_future and returns its future; then waits as wait_for.
  template <typename Op, typename Out = std::nullptr_t>
  ferry::error call(Op op, const std::string& what, Out out = nullptr) {
    auto started = std::make_shared<std::promise<decltype(op())>>();
    auto f = started->get_future();
    boost::asio::post(io, [started, op = std::move(op)]() mutable { started->set_value(op()); });
    if (f.wait_for(std::chrono::seconds(10)) != std::future_status::ready)
      return ferry_run_error(what + ": not started in 10 s");
    return wait_for(f.get(), what, out);
  }

  client::client& add_client(const endpoint& at) {
    clients.push_back(
        std::make_unique<client::client>(io.get_executor(), ferry_client_options(at)));
    return *clients.back();
  }
};

}  // namespace ferry::bench
