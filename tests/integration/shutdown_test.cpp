// SIGTERM against a real ferryd (docs/ARCHITECTURE.md, "Shutdown"): under load it answers
// every request it read before closing (so what is in the log after a restart is exactly
// what producers were told is confirmed), tells clients, and exits 0; a stuck client
// delays the exit by at most shutdown.grace_ms, and a second SIGTERM ends the drain at once.
#include <atomic>
#include <chrono>
#include <csignal>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/integration/log_client_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_client.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
namespace v1 = ferry::v1;

namespace {

using clock_type = std::chrono::steady_clock;

// Producers streaming to a log topic until the broker goes away, each with a window of
// publishes in flight; they remember what was confirmed.
struct producers {
  std::mutex m;
  std::set<std::string> confirmed;
  std::atomic<int> failed{0}, shutting_down_notices{0};
  std::vector<std::unique_ptr<fc::blocking_client>> clients;
  std::vector<std::thread> threads;
  std::atomic<bool> stop{false};

  void start(const broker_process& b, const std::string& topic, int n) {
    for (int p = 0; p < n; ++p) {
      auto opts = options_for(b);
      opts.reconnect = false;  // what the broker did not answer fails, and is not resent
      opts.on_notice = [this](std::string_view kind, const ferry::error&) {
        if (kind == "SHUTTING_DOWN") ++shutting_down_notices;
      };
      auto r = fc::blocking_client::connect(opts);
      REQUIRE(r);
      clients.push_back(std::move(r.value()));
    }
    for (int p = 0; p < n; ++p)
      threads.emplace_back([this, p, topic] { run(*clients[p], topic, p); });
  }

  void run(fc::blocking_client& c, const std::string& topic, int p) {
    std::atomic<int> in_flight{0};
    for (int seq = 0; !stop; ++seq) {
      while (in_flight > 64 && !stop)
        std::this_thread::sleep_for(100us);
      if (c.state() == fc::connection_state::closed) break;
      ++in_flight;
      std::string payload = "p" + std::to_string(p) + "-" + std::to_string(seq);
      c.publish_async(
          topic, fc::message(payload),
          [this, &in_flight, payload](const ferry::error& err, const fc::publish_result&) {
            if (err) {
              ++failed;
            } else {
              std::lock_guard lock(m);
              confirmed.insert(payload);
            }
            --in_flight;
          });
    }
    const auto deadline = clock_type::now() + 10s;
    while (in_flight > 0 && clock_type::now() < deadline)
      std::this_thread::sleep_for(1ms);
  }

  void join() {
    stop = true;
    for (auto& t : threads)
      t.join();
  }
};

std::set<std::string> read_all(fc::blocking_client& c, const std::string& topic) {
  auto info = c.describe_topic(topic);
  REQUIRE(info);
  uint64_t total = 0;
  for (const auto& p : info->partitions())
    total += p.log_end() - p.log_start();
  fc::consume_options o;
  o.topic = topic;
  o.default_start = fc::position::earliest();
  auto reader = consume(c, o);
  std::set<std::string> seen;
  for (uint64_t i = 0; i < total; ++i) {
    auto d = reader.next(10s);
    REQUIRE(d);
    seen.insert(std::string(d->payload()));
  }
  return seen;
}

// A consumer that reads nothing, with 16 MiB of deliveries its 4 KiB socket cannot take:
// its connection cannot be closed after its output, so a drain waits for it.
struct stuck_consumer {
  raw_client admin, sleepy;

  explicit stuck_consumer(const broker_process& b)
      : admin(b.host(), b.port()), sleepy(b.host(), b.port()) {
    admin.handshake();
    v1::Frame ct;
    ct.mutable_create_topic()->set_name("t");
    REQUIRE(admin.request(ct).has_topic_info());
    sleepy.set_receive_buffer(4096);
    sleepy.handshake();
    v1::Frame sub;
    sub.mutable_subscribe()->set_pattern("t");
    sub.mutable_subscribe()->set_prefetch(100000);
    REQUIRE(sleepy.request(sub).has_subscribe_ok());
    for (int batch = 0; batch < 16; ++batch) {
      v1::Frame pub;
      pub.mutable_publish()->set_topic("t");
      for (int i = 0; i < 16; ++i)
        pub.mutable_publish()->add_messages()->set_payload(std::string(65536, 'x'));
      REQUIRE(admin.request(pub).publish_ok().accepted() == 16);
    }
  }
};

}  // namespace

TEST_CASE(
    "SIGTERM under load: every publish read is confirmed and kept, clients are told, "
    "exit 0",
    "[shutdown]") {
  broker_process b;
  auto admin = connect(b);
  create_log_topic(*admin, "events", 4);
  admin.reset();

  producers load;
  load.start(b, "events", 4);
  std::this_thread::sleep_for(1500ms);
  {
    std::lock_guard lock(load.m);
    REQUIRE(load.confirmed.size() > 100);  // the load is on
  }
  const auto t0 = clock_type::now();
  const int status = b.stop(std::chrono::seconds(20));
  const auto drain = clock_type::now() - t0;
  load.join();
  CHECK(status == 0);
  CHECK(drain < 8s);  // shutdown.grace_ms: nothing here needs that long
  CHECK(load.shutting_down_notices == 4);

  b.restart();
  auto reader = connect(b);
  const auto in_log = read_all(*reader, "events");
  std::lock_guard lock(load.m);
  INFO(load.confirmed.size() << " confirmed, " << load.failed << " failed, " << in_log.size()
                             << " in the log after the restart");
  // Nothing confirmed is lost, and nothing was written without its producer being told:
  // the broker answered every publish it had read before it closed the connections.
  CHECK(in_log == load.confirmed);
}

TEST_CASE("a client that reads nothing delays the exit by shutdown.grace_ms at most",
          "[shutdown]") {
  broker_process b({"--set", "shutdown.grace_ms=700", "--set", "limits.write_timeout_ms=60000"});
  stuck_consumer stuck(b);

  const auto t0 = clock_type::now();
  CHECK(b.stop(std::chrono::seconds(10)) == 0);
  const auto took = clock_type::now() - t0;
  CHECK(took >= 600ms);  // it waited for the stuck client...
  CHECK(took < 5s);      // ...no longer than the grace period (and some start-up slack)
}

TEST_CASE("a second SIGTERM ends a drain at once", "[shutdown]") {
  broker_process b({"--set", "shutdown.grace_ms=60000", "--set", "limits.write_timeout_ms=60000"});
  stuck_consumer stuck(b);

  REQUIRE(::kill(b.pid(), SIGTERM) == 0);
  // Draining: the HTTP side still answers, and says so.
  http_result ready;
  for (int i = 0; i < 100; ++i) {
    ready = http_call(b.http_port(), "GET", "/readyz");
    if (ready.status == 503) break;
    std::this_thread::sleep_for(10ms);
  }
  CHECK(ready.status == 503);
  CHECK(ready.body.find("draining") != std::string::npos);
  std::this_thread::sleep_for(300ms);
  CHECK(http_call(b.http_port(), "GET", "/livez").status ==
        200);  // still there, waiting for the sleepy client

  const auto t0 = clock_type::now();
  CHECK(b.stop(std::chrono::seconds(10)) == 0);  // the second SIGTERM
  CHECK(clock_type::now() - t0 < 2s);
}
