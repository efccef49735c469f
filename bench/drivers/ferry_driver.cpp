// The ferry driver: ferryd through libferry's async client, everything on one thread
// (ferry_load.h for the load generator, ferry_idle.h for idle connections).
#include <chrono>
#include <future>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/broker_stats.h"
#include "bench/driver.h"
#include "bench/drivers/ferry_group.h"
#include "bench/drivers/ferry_idle.h"
#include "bench/drivers/ferry_load.h"
#include "bench/drivers/ferry_loop.h"
#include "bench/drivers/ferry_request.h"
#include "bench/idle_connections.h"

namespace ferry::bench {

namespace asio = boost::asio;

namespace {

using steady_clock = std::chrono::steady_clock;

// Runs `io` until `done()` or `limit` passed; false on timeout.
template <typename Done>
bool run_until(asio::io_context& io, Done done, steady_clock::duration limit) {
  auto deadline = steady_clock::now() + limit;
  io.restart();
  while (!done()) {
    if (steady_clock::now() >= deadline) return false;
    if (io.stopped()) io.restart();
    io.run_for(std::chrono::milliseconds(10));
  }
  return true;
}

class ferry_driver final : public driver {
 public:
  // ---- driver ----
  std::string name() const override { return "ferry"; }
  std::string unsupported(const workload&) const override { return {}; }
  std::string equivalence(const workload& w) const override;
  ferry::error run(const workload& w, const endpoint& at, measurement& m) override;
  ferry::error create_idle_topics(const workload& w, const endpoint& at) override;

 private:
  ferry::error run_idle(const workload& w, const endpoint& at, measurement& m, asio::io_context& io,
                        std::unique_ptr<idle_connection_set>& idle);
  ferry::error run_load(const workload& w, const endpoint& at, measurement& m,
                        asio::io_context& io);
};

std::string ferry_driver::equivalence(const workload& w) const {
  std::string s;
  if (w.idle_connections != 0 && w.producers_per_topic == 0)
    return "idle connections after the Hello handshake (raw frames), no subscriptions";
  if (w.request_reply)
    return "client::async_request (a temporary inbox topic per requester, reply_to and "
           "correlation id; PROTOCOL.md 8), the responders on one " +
           std::string(w.consumers_per_subscription > 1 ? "shared durable" : "ephemeral") +
           " auto-ack subscription; requests and replies publish-confirmed (ferry's protocol "
           "confirms every publish)";
  if (w.group_churn)
    return "log topic, " + std::to_string(w.partitions_per_topic) +
           " partitions, one consumer group (broker-side assignment, auto-commit each second "
           "and on revoke; PROTOCOL.md 10): " +
           std::to_string(w.consumers_per_subscription) +
           " member(s), one more joins at 1/3 of the window, the first leaves cleanly at 2/3";
  if (w.kind == topic_kind::memory) {
    s = "memory topic, ";
    s.append(w.ephemeral ? "ephemeral subscription" : "durable subscription");
    s.append(w.consumer_acks ? ", per-message acks (libferry batches one Ack frame per turn)"
                             : ", auto-ack");
    if (w.catchup_bytes != 0)
      s.append(
          ", the backlog published into the subscription before its consumer starts, timed "
          "from before the consumer connects until it has every message");
  } else {
    s = "log topic, ";
    s.append(std::to_string(w.partitions_per_topic)).append(" partition(s), ");
    switch (w.durable) {
      case durability::fsync_always: s.append("fsync: always (group commit before the ack)"); break;
      case durability::fsync_interval: s.append("fsync: interval, every 1000 ms"); break;
      case durability::none: s.append("fsync: never"); break;
    }
    s.append(w.shared ? ", idempotent producer, a shared subscription (per-record acks, the "
                        "delivery state stored before each SettleOk)"
                      : ", idempotent producer, manual readers from the earliest record");
  }
  return s.append(w.confirms ? ", publish confirms"
                             : ", publish confirms all the same (ferry's protocol confirms "
                               "every publish; the workload asks for none)");
}

ferry::error ferry_driver::run(const workload& w, const endpoint& at, measurement& m) {
  asio::io_context io(1);
  std::unique_ptr<idle_connection_set> idle;  // kept open while the load runs, if any
  if (w.idle_connections != 0) {
    if (auto e = run_idle(w, at, m, io, idle)) return e;
  }
  if (w.producers_per_topic == 0) return {};
  if (w.request_reply) return run_ferry_requests(w, at, m);
  if (w.group_churn) return run_ferry_group_churn(w, at, m);
  return run_load(w, at, m, io);
}

// Every CreateTopic sent at once on one connection (the broker answers them in order).
ferry::error ferry_driver::create_idle_topics(const workload& w, const endpoint& at) {
  client_loop l;
  auto& c = l.add_client(at);
  if (auto e = l.call([&] { return c.async_connect(asio::use_future); }, "connect")) return e;
  auto done = std::make_shared<std::promise<ferry::error>>();
  auto all = done->get_future();
  asio::post(l.io, [&w, &c, done, prefix = "idle-" + make_run_id() + "-"] {
    struct tally {
      uint32_t left;
      ferry::error first;
    };
    auto t = std::make_shared<tally>(tally{w.idle_topics, {}});
    for (uint32_t i = 0; i < w.idle_topics; ++i) {
      v1::CreateTopic req;
      req.set_name(prefix + std::to_string(i));
      req.set_kind(v1::LOG);
      req.mutable_options()->set_partitions(1);
      req.mutable_options()->set_fsync(fsync_policy(w.durable));
      c.async_create_topic(req, [done, t](ferry::error e, v1::TopicInfo) {
        if (e && !t->first) t->first = e;
        if (--t->left == 0) done->set_value(t->first);
      });
    }
  });
  if (all.wait_for(std::chrono::seconds(300)) != std::future_status::ready)
    return ferry_run_error("creating idle topics took over 300 s");
  return all.get();
}

// Opens the idle connections, holds them ~1 s, and reports the broker's RSS growth.
ferry::error ferry_driver::run_idle(const workload& w, const endpoint& at, measurement& m,
                                    asio::io_context& io,
                                    std::unique_ptr<idle_connection_set>& idle) {
  auto e = measure_idle_connections(w, at, m, [&](std::string& error) -> uint64_t {
    idle = std::make_unique<idle_connection_set>(io, at, w.idle_connections);
    idle->open();
    auto bound = std::chrono::seconds(30 + w.idle_connections / 500);
    if (!run_until(
            io, [&] { return idle->done(); }, bound)) {
      error = "idle connections: ";
      error.append(std::to_string(idle->opened())).append(" of ");
      error.append(std::to_string(w.idle_connections)).append(" open in time");
    } else {
      error = idle->failure();
    }
    return idle->opened();
  });
  return e.empty() ? ferry::error{} : ferry_run_error(e);
}

ferry::error ferry_driver::run_load(const workload& w, const endpoint& at, measurement& m,
                                    asio::io_context& io) {
  ferry_load load(io, w, at, m);
  load.start();
  // Bounded: the run ends by itself; catch-up runs write and read a lot first.
  asio::steady_timer guard(io);
  auto secs = static_cast<int64_t>(w.warmup_s + w.duration_s) + (w.catchup_bytes != 0 ? 600 : 30);
  guard.expires_after(std::chrono::seconds(secs));
  guard.async_wait([&](boost::system::error_code ec) {
    if (!ec) load.fail("the run did not finish in time");
  });
  io.restart();
  io.run();
  guard.cancel();
  // Let the last deliveries arrive: until every reader caught up, or 5 s.
  if (!load.failed())
    run_until(
        io, [&] { return m.drained(); }, std::chrono::seconds(5));
  load.start_teardown();
  run_until(
      io, [&] { return load.torn_down(); }, std::chrono::seconds(5));
  if (load.failed()) return ferry_run_error(load.failure());
  return {};
}

}  // namespace

std::unique_ptr<driver> make_ferry_driver() {
  return std::make_unique<ferry_driver>();
}

}  // namespace ferry::bench
