// Crash safety of log topics with fsync: always. A producer writes with several batches in
// flight while the test kills ferryd with SIGKILL at random moments and restarts it; the
// producer resends whatever was not acknowledged, with the same producer id and
// sequences. Afterwards: every acknowledged record is readable at its acknowledged offset,
// offsets per partition are dense (no gaps, no duplicates), and no sequence was written
// twice.
#include <map>
#include <random>
#include <set>

#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/log_helpers.h"
#include "tests/support/raw_client.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;
using steady = std::chrono::steady_clock;

namespace {

constexpr uint32_t partitions = 2;
constexpr int batch = 20;
constexpr size_t max_in_flight = 4;  // frames per connection

struct frame_state {
  uint32_t partition;
  uint64_t first_sequence;
};

class producer {
 public:
  explicit producer(broker_process& b) : b_(b) { connect(); }

  // Keeps up to max_in_flight frames unacknowledged until `until`.
  void run_until(steady::time_point until) {
    while (steady::now() < until) {
      while (in_flight_.size() < max_in_flight)
        send_new();
      auto f = conn_->read_frame(std::chrono::milliseconds(200));
      if (f) on_response(*f);
    }
  }
  // The broker is gone: drop the connection, reconnect after its restart, resend.
  void reconnect_and_resend() {
    connect();
    auto pending = std::move(in_flight_);
    in_flight_.clear();
    for (auto& [cid, st] : pending)
      send(st);
  }
  // Waits for every frame in flight to be acknowledged.
  void drain() {
    auto deadline = steady::now() + std::chrono::seconds(20);
    while (!in_flight_.empty() && steady::now() < deadline) {
      auto f = conn_->read_frame(std::chrono::milliseconds(200));
      if (f) on_response(*f);
    }
    REQUIRE(in_flight_.empty());
  }

  // (partition, sequence) -> acknowledged offset.
  const std::map<std::pair<uint32_t, uint64_t>, uint64_t>& acked() const { return acked_; }
  uint64_t sent_sequences(uint32_t p) const { return next_seq_[p]; }

 private:
  void connect() {
    conn_ = std::make_unique<raw_client>(b_.host(), b_.port());
    conn_->handshake();
  }
  void send_new() {
    frame_state st{rr_++ % partitions, 0};
    st.first_sequence = next_seq_[st.partition];
    next_seq_[st.partition] += batch;
    send(st);
  }
  void send(const frame_state& st) {
    std::vector<std::pair<std::string, std::string>> msgs;
    for (int i = 0; i < batch; ++i)
      msgs.push_back({"", std::to_string(st.first_sequence + static_cast<uint64_t>(i))});
    auto f = publish_frame("crash", msgs, static_cast<int>(st.partition), "crash-producer",
                           st.first_sequence);
    f.set_correlation_id(++cid_);
    in_flight_[cid_] = st;
    conn_->send_frame(f);
  }
  void on_response(const v1::Frame& f) {
    auto it = in_flight_.find(f.correlation_id());
    if (it == in_flight_.end()) return;
    REQUIRE(f.has_publish_ok());
    const auto& ok = f.publish_ok();
    INFO("errors: " << ok.errors_size());
    REQUIRE(ok.errors_size() == 0);
    REQUIRE(ok.offsets_size() == batch);
    for (int i = 0; i < batch; ++i) {
      auto key = std::make_pair(it->second.partition,
                                it->second.first_sequence + static_cast<uint64_t>(i));
      auto [at, fresh] = acked_.emplace(key, ok.offsets(i));
      if (!fresh) CHECK(at->second == ok.offsets(i));  // a retry reports the original offset
    }
    in_flight_.erase(it);
  }

  broker_process& b_;
  std::unique_ptr<raw_client> conn_;
  std::map<uint64_t, frame_state> in_flight_;
  std::map<std::pair<uint32_t, uint64_t>, uint64_t> acked_;
  uint64_t next_seq_[partitions] = {};
  uint64_t cid_ = 100;
  uint32_t rr_ = 0;
};

}  // namespace

TEST_CASE("acknowledged records survive kill -9, with dense offsets and no duplicates",
          "[log][crash]") {
  broker_process b;
  {
    raw_client admin(b.host(), b.port());
    admin.handshake();
    REQUIRE(create_log_topic(admin, "crash", partitions, v1::FSYNC_ALWAYS).has_topic_info());
  }
  producer prod(b);
  std::mt19937 rng(std::random_device{}());
  std::uniform_int_distribution<int> ms(50, 400);
  for (int kill = 0; kill < 20; ++kill) {
    prod.run_until(steady::now() + std::chrono::milliseconds(ms(rng)));
    b.kill_hard();
    b.restart();
    prod.reconnect_and_resend();
  }
  prod.drain();

  // Read everything back.
  raw_client r(b.host(), b.port());
  r.handshake();
  for (uint32_t p = 0; p < partitions; ++p) {
    auto info = r.request(describe_frame("crash")).topic_info().partitions(static_cast<int>(p));
    CHECK(info.log_start() == 0);
    uint64_t end = info.log_end();
    auto ok = r.request(consume_frame("crash", p, v1::Position::EARLIEST, 0, 1'000'000));
    REQUIRE(ok.has_consume_log_ok());
    auto recs = read_records(r, end);
    REQUIRE(recs.size() == end);
    std::set<std::string> seen;
    std::map<uint64_t, std::string> at_offset;
    for (uint64_t i = 0; i < end; ++i) {
      CHECK(recs[i].offset == i);                  // dense: no gap, no duplicated offset
      CHECK(seen.insert(recs[i].payload).second);  // no sequence written twice
      at_offset[recs[i].offset] = recs[i].payload;
    }
    // Every sequence sent was acknowledged in the end, at the offset where it is.
    CHECK(end == prod.sent_sequences(p));
    CHECK(end > 0);
    WARN("partition " << p << ": " << end << " records after 20 kills");
    for (const auto& [key, offset] : prod.acked()) {
      if (key.first != p) continue;
      CHECK(at_offset[offset] == std::to_string(key.second));
    }
  }
}
