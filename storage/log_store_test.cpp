// Contract tests: both log_store implementations behave alike (NATS's
// testAllStoreAllPermutations). Each TEST_CASE runs one contract against the memory
// store and against RocksDB; rocksdb/rocks_log_store_test.cpp covers what only RocksDB
// has (reopen, full disk).
#include <filesystem>
#include <functional>

#include <catch2/catch.hpp>

#include "storage/engine.h"
#include "storage/log/log_test_support.h"

using namespace ferry::storage;
using namespace ferry::storage::testing;
using ferry::errc;

namespace {

const partition_id p0{7, 0};
const partition_id p1{7, 1};

// Runs `contract` against a fresh memory engine and a fresh RocksDB engine.
void for_each_store(const std::function<void(log_store&, bool exact_bytes)>& contract) {
  SECTION("memory") {
    auto e = make_memory_engine();
    contract(e->log(), true);
  }
  SECTION("rocksdb") {
    auto dir = temp_dir("log-store-test");
    {
      ferry::error err;
      auto e = open_rocks_engine({dir}, err);
      REQUIRE(e);
      contract(e->log(), false);
    }
    std::filesystem::remove_all(dir);
  }
}

partition_bounds bounds_of(log_store& s, partition_id pid) {
  partition_bounds b;
  REQUIRE_FALSE(s.bounds(pid, b));
  return b;
}

uint64_t time_lookup(log_store& s, partition_id pid, int64_t ts) {
  uint64_t out = 99999;
  REQUIRE_FALSE(s.offset_for_time(pid, ts, out));
  return out;
}

std::vector<read_record> read_all(log_store& s, partition_id pid, uint64_t from,
                                  size_t max_records = 1000, size_t max_bytes = 1 << 30) {
  std::vector<read_record> out;
  auto err = read_decoded(s, pid, from, max_records, max_bytes, out);
  REQUIRE_FALSE(err);
  return out;
}

// Ten records of p0 (offsets 0..9, ts 100, 100, 110, 120, ..., message "m<offset>") and
// two of p1.
void fill(log_store& s) {
  std::vector<record_spec> recs;
  for (int i = 0; i < 10; ++i)
    recs.emplace_back(i == 0 ? 100 : 90 + 10 * i, "m" + std::to_string(i));
  auto a = make_append(p0, 0, {recs.begin(), recs.begin() + 4});
  auto b = make_append(p0, 4, {recs.begin() + 4, recs.end()});
  auto c = make_append(p1, 0, {{5, "x"}, {6, "y"}});
  const partition_append* batch[] = {&a, &c};
  REQUIRE_FALSE(s.append(batch, true));
  REQUIRE_FALSE(append_one(s, b));
}

}  // namespace

TEST_CASE("log_store appends and reads records back in order", "[storage][log]") {
  for_each_store([](log_store& s, bool) {
    CHECK(read_all(s, p0, 0).empty());
    fill(s);
    auto all = read_all(s, p0, 0);
    REQUIRE(all.size() == 10);
    for (uint64_t i = 0; i < 10; ++i) {
      CHECK(all[i].offset == i);
      CHECK(all[i].message == "m" + std::to_string(i));
    }
    CHECK(all[0].ts == 100);
    CHECK(all[9].ts == 180);
    CHECK(read_all(s, p1, 0) == std::vector<read_record>{{0, 5, "x"}, {1, 6, "y"}});
    CHECK(read_all(s, p0, 7).front().offset == 7);
    CHECK(read_all(s, p0, 3, 2).size() == 2);
    CHECK(read_all(s, p0, 0, 0).empty());
    CHECK(read_all(s, p0, 10).empty());  // at the tail: nothing yet
    CHECK(read_all(s, p0, 500).empty());
    CHECK(read_all(s, {7, 2}, 0).empty());
    CHECK(read_all(s, {8, 0}, 0).empty());
  });
}

TEST_CASE("log_store read stops once max_bytes were read, with at least one record",
          "[storage][log]") {
  for_each_store([](log_store& s, bool) {
    fill(s);
    const size_t value = record_header_bytes + 2;  // every p0 message is 2 bytes
    CHECK(read_all(s, p0, 0, 100, 0).size() == 1);
    CHECK(read_all(s, p0, 0, 100, 1).size() == 1);
    CHECK(read_all(s, p0, 0, 100, value).size() == 1);
    CHECK(read_all(s, p0, 0, 100, value + 1).size() == 2);
    CHECK(read_all(s, p0, 0, 100, 3 * value).size() == 3);
    CHECK(read_all(s, p0, 8, 100, 3 * value).size() == 2);
    // The buffer and views are replaced, not appended to, when reused.
    std::vector<uint8_t> buffer;
    std::vector<stored_record> out;
    REQUIRE_FALSE(s.read(p0, 0, 5, 1 << 20, buffer, out));
    REQUIRE_FALSE(s.read(p0, 5, 5, 1 << 20, buffer, out));
    REQUIRE(out.size() == 5);
    CHECK(buffer.size() == 5 * value);
    CHECK(decode_record(out[4].value)->message == "m9");
  });
}

TEST_CASE("log_store bounds follow appends and truncation", "[storage][log]") {
  for_each_store([](log_store& s, bool exact_bytes) {
    auto b = bounds_of(s, p0);
    CHECK((b.start == 0 && b.next == 0 && b.bytes == 0));
    fill(s);
    b = bounds_of(s, p0);
    CHECK((b.start == 0 && b.next == 10));
    if (exact_bytes) CHECK(b.bytes == 10 * (record_header_bytes + 2));
    CHECK(bounds_of(s, p1).next == 2);

    REQUIRE_FALSE(s.truncate_prefix(p0, 4));
    b = bounds_of(s, p0);
    CHECK((b.start == 4 && b.next == 10));
    if (exact_bytes) CHECK(b.bytes == 6 * (record_header_bytes + 2));
    CHECK(read_all(s, p0, 4).size() == 6);
    std::vector<read_record> out;
    CHECK(read_decoded(s, p0, 3, 10, 1000, out).code == errc::offset_out_of_range);
    CHECK(out.empty());

    REQUIRE_FALSE(s.truncate_prefix(p0, 2));  // never moves back
    CHECK(bounds_of(s, p0).start == 4);
    REQUIRE_FALSE(s.truncate_prefix(p0, 10));  // everything: start == next
    b = bounds_of(s, p0);
    CHECK((b.start == 10 && b.next == 10 && b.bytes == 0));
    CHECK(read_all(s, p0, 9).empty());
    REQUIRE_FALSE(s.truncate_prefix(p0, 12));  // past next: next follows
    b = bounds_of(s, p0);
    CHECK((b.start == 12 && b.next == 12));
    REQUIRE_FALSE(append_one(s, make_append(p0, 12, {{300, "late"}})));
    b = bounds_of(s, p0);
    CHECK((b.start == 12 && b.next == 13 && b.bytes > 0));
    CHECK(read_all(s, p0, 12) == std::vector<read_record>{{12, 300, "late"}});
    CHECK(bounds_of(s, p1).next == 2);  // other partitions untouched
  });
}

TEST_CASE("log_store offset_for_time finds the first record at or after a time", "[storage][log]") {
  for_each_store([](log_store& s, bool) {
    CHECK(time_lookup(s, p0, 0) == 0);
    fill(s);  // ts: 100 100 110 120 130 140 150 160 170 180
    CHECK(time_lookup(s, p0, -5) == 0);
    CHECK(time_lookup(s, p0, 100) == 0);
    CHECK(time_lookup(s, p0, 101) == 2);
    CHECK(time_lookup(s, p0, 110) == 2);
    CHECK(time_lookup(s, p0, 155) == 7);
    CHECK(time_lookup(s, p0, 180) == 9);
    CHECK(time_lookup(s, p0, 181) == 10);  // none: next
    REQUIRE_FALSE(s.truncate_prefix(p0, 5));
    CHECK(time_lookup(s, p0, 0) == 5);
    CHECK(time_lookup(s, p0, 165) == 8);
    REQUIRE_FALSE(s.truncate_prefix(p0, 10));
    CHECK(time_lookup(s, p0, 0) == 10);
  });
}

TEST_CASE("log_store keeps the latest producer state per partition", "[storage][log]") {
  for_each_store([](log_store& s, bool) {
    std::vector<producer_state> got;
    REQUIRE_FALSE(s.load_producers(p0, got));
    CHECK(got.empty());
    const std::string recent("r\0\xff", 3);  // opaque bytes, kept as they are
    REQUIRE_FALSE(append_one(s, make_append(p0, 0, {{1, "a"}}, {producer("pb", 1, 0, 1000)})));
    REQUIRE_FALSE(append_one(
        s, make_append(p0, 1, {{1, "b"}, {2, "c"}},
                       {producer("pa", 7, 2, 1001, recent), producer("pb", 2, 1, 1002, "x")})));
    REQUIRE_FALSE(append_one(s, make_append(p1, 0, {{1, "d"}}, {producer("pa", 1, 0, -5)})));
    REQUIRE_FALSE(s.load_producers(p0, got));
    REQUIRE(got.size() == 2);
    CHECK(same_producer(got[0], producer("pa", 7, 2, 1001, recent)));
    CHECK(same_producer(got[1], producer("pb", 2, 1, 1002, "x")));
    got.push_back({});  // cleared first
    REQUIRE_FALSE(s.load_producers(p1, got));
    REQUIRE(got.size() == 1);
    CHECK(same_producer(got[0], producer("pa", 1, 0, -5)));
  });
}

TEST_CASE("log_store drop_partition forgets records, log start and producers", "[storage][log]") {
  for_each_store([](log_store& s, bool) {
    fill(s);
    REQUIRE_FALSE(append_one(s, make_append(p0, 10, {{200, "z"}}, {producer("p", 1, 10, 1)})));
    REQUIRE_FALSE(append_one(s, make_append(p1, 2, {{200, "z"}}, {producer("p", 1, 2, 1)})));
    REQUIRE_FALSE(s.truncate_prefix(p0, 3));
    REQUIRE_FALSE(s.drop_partition(p0));
    auto b = bounds_of(s, p0);
    CHECK((b.start == 0 && b.next == 0 && b.bytes == 0));
    CHECK(read_all(s, p0, 0).empty());
    std::vector<producer_state> got;
    REQUIRE_FALSE(s.load_producers(p0, got));
    CHECK(got.empty());
    // The partition can be created again from offset 0.
    REQUIRE_FALSE(append_one(s, make_append(p0, 0, {{1, "again"}})));
    CHECK(read_all(s, p0, 0) == std::vector<read_record>{{0, 1, "again"}});
    // Its neighbour is untouched.
    CHECK(bounds_of(s, p1).next == 3);
    REQUIRE_FALSE(s.load_producers(p1, got));
    CHECK(got.size() == 1);
    REQUIRE_FALSE(s.drop_partition({9, 9}));  // unknown: nothing to do
  });
}

TEST_CASE("log_store refuses a malformed append and writes none of its batch", "[storage][log]") {
  for_each_store([](log_store& s, bool) {
    auto good = make_append(p1, 0, {{1, "ok"}});
    auto bad = make_append(p0, 0, {{1, "a"}, {2, "b"}});
    std::swap(bad.ends[0], bad.ends[1]);
    const partition_append* batch[] = {&good, &bad};
    CHECK(s.append(batch, false).code == errc::invalid_argument);
    auto past = make_append(p0, 0, {{1, "a"}});
    past.ends[0] = 1000;
    CHECK(append_one(s, past).code == errc::invalid_argument);
    auto overflow = make_append(p0, UINT64_MAX - 1, {{1, "a"}});
    CHECK(append_one(s, overflow).code == errc::invalid_argument);
    CHECK(bounds_of(s, p1).next == 0);
    CHECK(bounds_of(s, p0).next == 0);
    REQUIRE_FALSE(s.sync_wal());
  });
}
