// Model-based test of log_store: random appends, truncations, reads, time lookups and
// drops (and, for RocksDB, reopens) against a model list per partition, on both
// implementations. After every step the store's bounds and producers equal the model's.
#include <atomic>
#include <filesystem>
#include <map>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "storage/engine.h"
#include "storage/log/log_test_support.h"

using namespace ferry::storage;
using namespace ferry::storage::testing;
using ferry::errc;

namespace {

struct op {
  int kind;  // 0-3 append, 4-5 truncate, 6-7 read, 8 time lookup, 9 drop (part 0) / reopen
  int part;
  int a;
  int b;
};

void showValue(const op& o, std::ostream& os) {
  os << "{" << o.kind << "," << o.part << "," << o.a << "," << o.b << "}";
}

struct model_partition {
  uint64_t start = 0;
  uint64_t next = 0;
  std::map<uint64_t, read_record> records;
  std::map<std::string, producer_state> producers;
  int64_t last_ts = 0;
  uint64_t bytes = 0;
};

class harness {
 public:
  // `reopen` replaces the engine (RocksDB) or is empty (memory). Each run uses a topic
  // id of its own, so runs can share an engine.
  harness(std::unique_ptr<engine>& e, std::function<void()> reopen, uint32_t topic)
      : e_(e), reopen_(std::move(reopen)), topic_(topic) {}

  void step(const op& o) {
    partition_id pid{topic_, static_cast<uint32_t>(o.part)};
    auto& m = model_[o.part];
    switch (o.kind) {
      case 0:
      case 1:
      case 2:
      case 3: append(pid, m, o); break;
      case 4:
      case 5: truncate(pid, m, o); break;
      case 6:
      case 7: read(pid, m, o); break;
      case 8: time_lookup(pid, m, o); break;
      default:
        if (o.part == 0) {
          RC_ASSERT_FALSE(e_->log().drop_partition(pid));
          m = model_partition{};
        } else if (reopen_) {
          reopen_();
        }
    }
    check(pid, m);
  }

 private:
  void append(partition_id pid, model_partition& m, const op& o) {
    std::vector<record_spec> recs;
    for (int i = 0; i < o.a % 6; ++i) {
      m.last_ts += (o.b + i) % 3;
      recs.emplace_back(m.last_ts, std::string((o.b + 7 * i) % 40, static_cast<char>('a' + i)));
    }
    std::vector<producer_state> producers;
    if (o.a % 3 == 0) {
      std::string id = "p";
      id.push_back(static_cast<char>('0' + o.b % 3));
      std::string recent(static_cast<size_t>(o.b % 5), static_cast<char>(o.b));
      producers.push_back(producer(id, ++sequence_, m.next, m.last_ts, recent));
    }
    auto a = make_append(pid, m.next, recs, producers);
    RC_ASSERT_FALSE(append_one(e_->log(), a, o.b % 5 == 0));
    for (const auto& [ts, msg] : recs) {
      m.records[m.next] = {m.next, ts, msg};
      m.bytes += record_header_bytes + msg.size();
      ++m.next;
    }
    for (const auto& p : producers)
      m.producers[p.producer_id] = p;
  }

  // To anywhere in [start - 2, next + 2].
  void truncate(partition_id pid, model_partition& m, const op& o) {
    int64_t span = static_cast<int64_t>(m.next - m.start) + 5;
    int64_t t = static_cast<int64_t>(m.start) - 2 + o.a % span;
    uint64_t new_start = static_cast<uint64_t>(std::max<int64_t>(0, t));
    RC_ASSERT_FALSE(e_->log().truncate_prefix(pid, new_start));
    if (new_start <= m.start) return;
    while (!m.records.empty() && m.records.begin()->first < new_start) {
      m.bytes -= record_header_bytes + m.records.begin()->second.message.size();
      m.records.erase(m.records.begin());
    }
    m.start = new_start;
    m.next = std::max(m.next, new_start);
  }

  void read(partition_id pid, model_partition& m, const op& o) {
    int64_t span = static_cast<int64_t>(m.next - m.start) + 3;
    uint64_t from =
        static_cast<uint64_t>(std::max<int64_t>(0, static_cast<int64_t>(m.start) - 1 + o.a % span));
    size_t max_records = static_cast<size_t>(o.b % 7);
    size_t max_bytes = static_cast<size_t>(o.b % 120);
    std::vector<read_record> got;
    auto err = read_decoded(e_->log(), pid, from, max_records, max_bytes, got);
    std::vector<read_record> want;
    bool out_of_range = max_records > 0 && !m.records.empty() && from < m.start;
    if (!out_of_range && max_records > 0) {
      size_t bytes = 0;
      for (auto it = m.records.lower_bound(from); it != m.records.end(); ++it) {
        want.push_back(it->second);
        bytes += record_header_bytes + it->second.message.size();
        if (want.size() >= max_records || bytes >= max_bytes) break;
      }
    }
    RC_ASSERT((err.code == errc::offset_out_of_range) == out_of_range);
    if (!out_of_range) RC_ASSERT_FALSE(err);
    RC_ASSERT(got == want);
  }

  void time_lookup(partition_id pid, model_partition& m, const op& o) {
    int64_t ts = o.b % (m.last_ts + 3) - 1;
    uint64_t got = 0;
    RC_ASSERT_FALSE(e_->log().offset_for_time(pid, ts, got));
    uint64_t want = m.next;
    for (const auto& [offset, r] : m.records)
      if (r.ts >= ts) {
        want = offset;
        break;
      }
    RC_ASSERT(got == want);
  }

  void check(partition_id pid, const model_partition& m) {
    partition_bounds b;
    RC_ASSERT_FALSE(e_->log().bounds(pid, b));
    RC_ASSERT(b.start == m.start);
    RC_ASSERT(b.next == m.next);
    if (!reopen_) RC_ASSERT(b.bytes == m.bytes);  // memory: exact
    if (b.start == b.next) RC_ASSERT(b.bytes == 0u);
    std::vector<producer_state> got;
    RC_ASSERT_FALSE(e_->log().load_producers(pid, got));
    RC_ASSERT(got.size() == m.producers.size());
    size_t i = 0;
    for (const auto& [id, p] : m.producers)
      RC_ASSERT(same_producer(got[i++], p));
  }

  std::unique_ptr<engine>& e_;
  std::function<void()> reopen_;
  uint32_t topic_;
  model_partition model_[2];
  uint64_t sequence_ = 0;
};

rc::Gen<std::vector<op>> gen_ops() {
  auto one =
      rc::gen::map(rc::gen::tuple(rc::gen::inRange(0, 10), rc::gen::inRange(0, 2),
                                  rc::gen::inRange(0, 60), rc::gen::inRange(0, 300)),
                   [](const std::tuple<int, int, int, int>& t) {
                     return op{std::get<0>(t), std::get<1>(t), std::get<2>(t), std::get<3>(t)};
                   });
  return rc::gen::container<std::vector<op>>(one);
}

}  // namespace

TEST_CASE("memory log_store matches the model under random operations", "[storage][log]") {
  rc::prop("model", [] {
    auto ops = *gen_ops();
    std::unique_ptr<engine> e = make_memory_engine();
    harness h(e, nullptr, 1);
    for (const auto& o : ops)
      h.step(o);
  });
}

TEST_CASE("rocks log_store matches the model under random operations and reopens",
          "[storage][log][rocks]") {
  auto dir = temp_dir("log-store-model");
  ferry::error err;
  std::unique_ptr<engine> e = open_rocks_engine({dir}, err);
  REQUIRE(e);
  uint32_t topic = 0;
  rc::prop("model", [&] {
    auto ops = *gen_ops();
    auto reopen = [&] {
      e.reset();
      ferry::error open_err;
      e = open_rocks_engine({dir}, open_err);
      RC_ASSERT(e != nullptr);
    };
    harness h(e, reopen, ++topic);
    for (const auto& o : ops)
      h.step(o);
  });
  e.reset();
  std::filesystem::remove_all(dir);
}
