// A crash-looping broker (a pod in CrashLoopBackOff): SIGKILL under publish load, restart,
// many times over. Each restart must serve publishes again promptly, and recoveries must not
// pile up level-0 files in RocksDB (which once stopped writes for good after ~45 restarts:
// each recovery flushed a file per column family faster than the compactions that each kill
// interrupted could take them away).
#include <chrono>

#include <catch2/catch.hpp>

#include "storage/engine.h"
#include "tests/support/broker_process.h"
#include "tests/support/log_helpers.h"
#include "tests/support/raw_client.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;
using steady = std::chrono::steady_clock;
using namespace std::chrono_literals;

namespace {

constexpr int restarts = 12;
constexpr uint32_t partitions = 4;
constexpr size_t in_flight = 8;  // Publish frames a connection keeps unanswered

v1::Frame load_frame(uint32_t partition) {
  std::vector<std::pair<std::string, std::string>> msgs(50, {"", std::string(1024, 'l')});
  return publish_frame("loop", msgs, static_cast<int>(partition));
}

// Publishes with several frames in flight until `until` (or the broker goes); how many
// frames were acknowledged.
int publish_for(raw_client& c, steady::time_point until) {
  int acked = 0;
  size_t outstanding = 0;
  uint32_t next = 0;
  uint64_t cid = 1;
  while (steady::now() < until) {
    for (; outstanding < in_flight; ++outstanding) {
      auto f = load_frame(next++ % partitions);
      f.set_correlation_id(++cid);
      c.send_frame(f);
    }
    auto r = c.read_frame(200ms);
    if (!r) break;
    if (!r->has_publish_ok()) continue;
    --outstanding;
    if (r->publish_ok().errors_size() == 0) ++acked;
  }
  return acked;
}

// The time from now until one record is acknowledged by the broker on `b`.
steady::duration first_publish(const broker_process& b) {
  auto start = steady::now();
  raw_client c(b.host(), b.port());
  c.handshake();
  auto r = c.request(publish_frame("loop", {{"", "after restart"}}, 0), 30s);
  REQUIRE(r.has_publish_ok());
  REQUIRE(r.publish_ok().errors_size() == 0);
  return steady::now() - start;
}

}  // namespace

TEST_CASE("a broker killed under load again and again serves publishes promptly after each restart",
          "[log][crash][restart]") {
  broker_process b;
  {
    raw_client c(b.host(), b.port());
    c.handshake();
    REQUIRE(create_log_topic(c, "loop", partitions, v1::FSYNC_ALWAYS).has_topic_info());
  }
  int total = 0;
  for (int i = 0; i < restarts; ++i) {
    INFO("restart " << i);
    {
      raw_client c(b.host(), b.port());
      c.handshake();
      total += publish_for(c, steady::now() + 800ms);
    }
    b.kill_hard();
    auto started = steady::now();
    b.restart();  // returns once ferryd says it listens: recovery is done
    CHECK(steady::now() - started < 10s);
    auto first = first_publish(b);
    INFO("first publish took "
         << std::chrono::duration_cast<std::chrono::milliseconds>(first).count() << " ms");
    CHECK(first < 2s);
  }
  CHECK(total > 0);
  REQUIRE(b.stop() == 0);
  // What the restarts left in RocksDB: no level-0 files from recovery, and no stall.
  ferry::error err;
  auto engine = ferry::storage::open_rocks_engine({b.data_dir(), false}, err);
  REQUIRE(engine);
  auto h = engine->health();
  INFO("level-0 files: log " << h.log_l0_files << ", meta " << h.meta_l0_files);
  CHECK(h.log_l0_files <= 8);
  CHECK(h.meta_l0_files <= 2);
  CHECK(h.write_stall == ferry::storage::storage_health::stall::none);
}
