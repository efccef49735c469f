#include "bench/drivers/ferry_group.h"

#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/drivers/ferry_loop.h"
#include "bench/drivers/first_failure.h"

namespace ferry::bench {

namespace {

namespace asio = boost::asio;
namespace fc = ferry::client;
using steady_clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class group_run {
 public:
  group_run(const workload& w, const endpoint& at, measurement& m)
      : w_(w), at_(at), m_(m), pace_(producer_.io) {
    topic_ = "group-" + make_run_id();
  }

  ferry::error run() {
    auto& pub = producer_.add_client(at_);
    if (auto e =
            producer_.call([&] { return pub.async_connect(asio::use_future); }, "connect producer"))
      return e;
    v1::CreateTopic req;
    req.set_name(topic_);
    req.set_kind(v1::LOG);
    req.mutable_options()->set_partitions(w_.partitions_per_topic);
    req.mutable_options()->set_fsync(fsync_policy(w_.durable));
    if (auto e = producer_.call([&] { return pub.async_create_topic(req, asio::use_future); },
                                "create topic"))
      return e;
    for (uint32_t i = 0; i < w_.consumers_per_subscription; ++i)
      if (auto e = join()) return e;
    m_.start(steady_clock::now());
    asio::post(producer_.io, [this] { produce(); });
    // The churn: a member joins a third into the measured window, the first member leaves
    // at two thirds.
    auto window = std::chrono::duration<double>(w_.duration_s);
    auto from = m_.t0() + std::chrono::duration_cast<steady_clock::duration>(
                              std::chrono::duration<double>(w_.warmup_s));
    std::this_thread::sleep_until(from +
                                  std::chrono::duration_cast<steady_clock::duration>(window / 3));
    if (auto e = join()) return e;
    std::this_thread::sleep_until(
        from + std::chrono::duration_cast<steady_clock::duration>(window * 2 / 3));
    if (auto e = leave(0)) return e;
    auto until = from + std::chrono::duration_cast<steady_clock::duration>(window) + 10s;
    while (!produced_ && !failed() && steady_clock::now() < until)
      std::this_thread::sleep_for(1ms);
    if (!produced_ && !failed()) fail("the producer did not finish in time");
    until = steady_clock::now() + 10s;
    while (!m_.drained() && !failed() && steady_clock::now() < until)
      std::this_thread::sleep_for(1ms);
    std::lock_guard lock(mu_);
    // What the members get from here on is the teardown's: closing members hand their
    // partitions (from the last auto-commit) to those still open.
    over_ = true;
    if (failure_.any()) return ferry_run_error(failure_.text());
    return {};
  }

 private:
  // A new group member on a loop of its own, reading from the group's committed offsets.
  ferry::error join() {
    auto& l = *members_.emplace_back(std::make_unique<client_loop>());
    auto& c = l.add_client(at_);
    if (auto e = l.call([&] { return c.async_connect(asio::use_future); }, "connect member"))
      return e;
    fc::consume_options o;
    o.topic = topic_;
    o.group = "bench";
    o.credit = w_.prefetch;
    fc::log_consumer reader;
    auto consume = [&] {
      return c.async_consume(
          o,
          [this](const fc::delivery& d) {
            std::lock_guard lock(mu_);  // members' threads share measurement reader 0
            if (!over_) m_.on_message(0, d.payload());
          },
          asio::use_future);
    };
    if (auto e = l.call(consume, "join the group", &reader)) return e;
    l.readers.push_back(std::move(reader));
    return {};
  }

  // Member `i` leaves cleanly: its reader closes (committing what it handled), then its
  // client.
  ferry::error leave(size_t i) {
    auto& l = *members_[i];
    if (auto e = l.call([&] { return l.readers.back().async_close(asio::use_future); },
                        "leave the group"))
      return e;
    members_.erase(members_.begin() + static_cast<std::ptrdiff_t>(i));
    return {};
  }

  // Open loop: every due record, stamped with its due time, each millisecond.
  void produce() {
    auto now = steady_clock::now();
    auto& pub = *producer_.clients[0];
    for (;;) {
      uint64_t seq = m_.sent();
      auto due = m_.due(seq);
      if (due > now) break;
      if (m_.past_end(due)) {
        produced_ = true;
        return;
      }
      fc::message msg;
      msg.payload = m_.make_payload(m_.next_sequence(), due);
      pub.async_publish(topic_, std::move(msg), [this, due](ferry::error e, fc::publish_result) {
        if (e) {
          m_.publish_failed(1);
          return fail("publish: " + e.to_string());
        }
        m_.confirmed(1, due);
      });
    }
    pace_.expires_at(std::min(m_.due(m_.sent()), now + 1ms));
    pace_.async_wait([this](boost::system::error_code ec) {
      if (!ec && !failed()) produce();
    });
  }

  void fail(const std::string& why) { failure_.set(why); }
  bool failed() const { return failure_.any(); }

  const workload& w_;
  const endpoint& at_;
  measurement& m_;
  std::string topic_;
  std::mutex mu_;  // measurement reader 0 and over_
  first_failure failure_;
  bool over_ = false;  // the run is measured: deliveries no longer count
  std::atomic<bool> produced_{false};
  client_loop producer_;
  asio::steady_timer pace_;  // on producer_'s loop
  std::vector<std::unique_ptr<client_loop>> members_;
};

}  // namespace

ferry::error run_ferry_group_churn(const workload& w, const endpoint& at, measurement& m) {
  group_run r(w, at, m);
  return r.run();
}

}  // namespace ferry::bench
