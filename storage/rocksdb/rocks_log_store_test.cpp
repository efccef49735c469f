// What only the RocksDB log store has: durability across a reopen, large catch-up reads
// from SST files, and the mapping of its statuses. DISK_FULL from a real full disk is
// disk_full_test.cpp (its own binary: it needs root to mount a tmpfs).
#include <chrono>
#include <filesystem>
#include <random>

#include <catch2/catch.hpp>

#include "storage/engine.h"
#include "storage/log/log_test_support.h"
#include "storage/rocksdb/rocks_status.h"

using namespace ferry::storage;
using namespace ferry::storage::testing;
using ferry::errc;

namespace {

std::unique_ptr<engine> open(const std::string& dir) {
  ferry::error err;
  auto e = open_rocks_engine({dir}, err);
  INFO(err.to_string());
  REQUIRE(e);
  return e;
}

}  // namespace

TEST_CASE("rocks log_store keeps records, log start and producers across a reopen",
          "[storage][log][rocks]") {
  auto dir = temp_dir("rocks-log-reopen");
  const partition_id a{1, 0}, b{1, 1}, c{2, 0};
  {
    auto e = open(dir);
    auto& s = e->log();
    REQUIRE_FALSE(
        append_one(s, make_append(a, 0, {{10, "a0"}, {11, "a1"}, {12, "a2"}},
                                  {producer("prod", 3, 2, 12, std::string(300, '\x01'))})));
    REQUIRE_FALSE(append_one(s, make_append(b, 0, {{20, "b0"}}), true));
    REQUIRE_FALSE(append_one(s, make_append(c, 0, {{30, "c0"}, {31, "c1"}})));
    REQUIRE_FALSE(s.truncate_prefix(a, 1));
    REQUIRE_FALSE(s.truncate_prefix(c, 2));  // everything
  }
  {
    auto e = open(dir);
    auto& s = e->log();
    partition_bounds bd;
    REQUIRE_FALSE(s.bounds(a, bd));
    CHECK((bd.start == 1 && bd.next == 3 && bd.bytes > 0));
    std::vector<read_record> got;
    REQUIRE_FALSE(read_decoded(s, a, 1, 10, 1 << 20, got));
    CHECK(got == std::vector<read_record>{{1, 11, "a1"}, {2, 12, "a2"}});
    REQUIRE_FALSE(s.bounds(b, bd));
    CHECK((bd.start == 0 && bd.next == 1));
    REQUIRE_FALSE(s.bounds(c, bd));  // emptied by retention: the next offset is kept
    CHECK((bd.start == 2 && bd.next == 2 && bd.bytes == 0));
    std::vector<producer_state> prods;
    REQUIRE_FALSE(s.load_producers(a, prods));
    REQUIRE(prods.size() == 1);
    CHECK(same_producer(prods[0], producer("prod", 3, 2, 12, std::string(300, '\x01'))));
    uint64_t off = 0;
    REQUIRE_FALSE(s.offset_for_time(a, 12, off));
    CHECK(off == 2);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("a restart replays the WAL without writing level-0 files, however often it happens",
          "[storage][log][rocks][restart]") {
  // A crash loop must not pile up L0 files (each recovery used to flush one per column
  // family, faster than an interrupted compaction could take them away).
  auto dir = temp_dir("rocks-restarts");
  const partition_id parts[] = {{1, 0}, {1, 1}, {1, 2}, {1, 3}};
  uint64_t next = 0;
  for (int restart = 0; restart < 5; ++restart) {
    auto e = open(dir);
    auto h = e->health();
    INFO("restart " << restart);
    CHECK(h.log_l0_files == 0);
    CHECK(h.meta_l0_files == 0);
    CHECK(h.write_stall == storage_health::stall::none);
    for (const auto& p : parts) {
      std::vector<std::pair<int64_t, std::string>> recs;
      for (int i = 0; i < 10; ++i)
        recs.emplace_back(i, "r" + std::to_string(next + static_cast<uint64_t>(i)));
      REQUIRE_FALSE(append_one(e->log(), make_append(p, next, recs), true));
    }
    next += 10;
    REQUIRE_FALSE(e->meta().put("topic/x", std::to_string(restart)));
  }
  auto e = open(dir);
  for (const auto& p : parts) {
    partition_bounds b;
    REQUIRE_FALSE(e->log().bounds(p, b));
    CHECK((b.start == 0 && b.next == next));  // every record came back from the WAL
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("rocks log_store reads a large range back in order from SST files",
          "[storage][log][rocks]") {
  auto dir = temp_dir("rocks-log-large");
  const partition_id pid{3, 0}, other{3, 1};
  const size_t n = 3000, bytes = 1000;
  const double exact_bytes = n * (bytes + record_header_bytes);
  {
    auto e = open(dir);
    for (uint64_t first = 0; first < n; first += 500) {
      auto x = records(pid, first, 500, bytes);
      auto y = records(other, first, 500, 10);
      const partition_append* batch[] = {&x, &y};
      REQUIRE_FALSE(e->log().append(batch, false));
    }
    partition_bounds bd;  // estimated from a sample; exact here, as all sizes are equal
    REQUIRE_FALSE(e->log().bounds(pid, bd));
    CHECK(bd.bytes == Approx(exact_bytes).epsilon(0.001));
  }
  auto e = open(dir);  // recovery flushes the replayed WAL to an SST file
  partition_bounds bd;
  REQUIRE_FALSE(e->log().bounds(pid, bd));
  CHECK(bd.next == n);
  // In LZ4-compressed SST files now: still the values' own size.
  CHECK(bd.bytes == Approx(exact_bytes).epsilon(0.001));
  std::vector<uint8_t> buffer;
  std::vector<stored_record> out;
  uint64_t from = 0;
  while (from < n) {  // catch-up reads (>= 1 MiB: readahead, no cache fill)
    REQUIRE_FALSE(e->log().read(pid, from, 100000, 2 << 20, buffer, out));
    REQUIRE_FALSE(out.empty());
    for (size_t i = 0; i < out.size(); ++i) {
      REQUIRE(out[i].offset == from + i);
      auto rec = decode_record(out[i].value);
      REQUIRE(rec);
      REQUIRE(rec->timestamp_ms == static_cast<int64_t>(from + i));
      REQUIRE(rec->message == std::string(bytes, static_cast<char>('a' + (from + i) % 26)));
    }
    from += out.size();
  }
  CHECK(from == n);
  std::filesystem::remove_all(dir);
}

TEST_CASE("rocks log_store estimates the bytes of a large partition from a sample",
          "[storage][log][rocks]") {
  auto dir = temp_dir("rocks-log-bytes");
  const partition_id pid{5, 0};
  std::mt19937 rng(42);  // fixed: the estimate is deterministic
  std::vector<record_spec> recs;
  for (int i = 0; i < 6000; ++i)
    recs.emplace_back(i, std::string(rng() % 2000, 'v'));
  auto e = open(dir);
  REQUIRE_FALSE(append_one(e->log(), make_append(pid, 0, recs)));
  REQUIRE_FALSE(e->log().truncate_prefix(pid, 1000));
  double exact = 0;
  for (size_t i = 1000; i < recs.size(); ++i)
    exact += static_cast<double>(record_header_bytes + recs[i].second.size());
  partition_bounds bd;
  REQUIRE_FALSE(e->log().bounds(pid, bd));
  CHECK(bd.start == 1000);
  CHECK(bd.bytes == Approx(exact).epsilon(0.2));
  e.reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("rocksdb statuses map to DISK_FULL or STORAGE_ERROR, saying what failed",
          "[storage][rocks]") {
  CHECK_FALSE(to_error(rocksdb::Status::OK(), "x"));
  auto full = to_error(rocksdb::Status::NoSpace("append"), "log append");
  CHECK(full.code == errc::disk_full);
  CHECK(full.message.find("log append: ") == 0);
  auto enospc =
      to_error(rocksdb::Status::IOError("While appending to file", "No space left on device"), "w");
  CHECK(enospc.code == errc::disk_full);
  auto io = to_error(rocksdb::Status::IOError("boom"), "log read");
  CHECK(io.code == errc::storage_error);
  CHECK(io.message.find("boom") != std::string::npos);
  CHECK(to_error(rocksdb::Status::Corruption("bad block"), "r").code == errc::storage_error);
}
