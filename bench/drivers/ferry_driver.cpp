// The ferry driver: ferryd through libferry's async client, everything on one thread
// (ferry_load.h for the load generator, ferry_idle.h for idle connections).
#include <chrono>
#include <memory>
#include <string>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/broker_stats.h"
#include "bench/driver.h"
#include "bench/drivers/ferry_idle.h"
#include "bench/drivers/ferry_load.h"
#include "bench/idle_connections.h"

namespace ferry::bench {

namespace asio = boost::asio;

namespace {

using steady_clock = std::chrono::steady_clock;

ferry::error run_error(const std::string& why) {
  return {make_error_code(errc::internal), why};
}

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
  return run_load(w, at, m, io);
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
  return e.empty() ? ferry::error{} : run_error(e);
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
  if (load.failed()) return run_error(load.failure());
  return {};
}

}  // namespace

std::unique_ptr<driver> make_ferry_driver() {
  return std::make_unique<ferry_driver>();
}

}  // namespace ferry::bench
