// Contract tests: both schedule_store implementations keep entries in due-time order, scan
// from a key up to a due time, list one group's entries and read one by key, apply adds
// and removes together; the RocksDB one keeps them
// across a reopen, and opens a data directory made before the `schedule` column family.
#include <filesystem>
#include <random>
#include <vector>

#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rocksdb/db.h>

#include "storage/engine.h"

using ferry::storage::schedule_entry;
using ferry::storage::schedule_key;
using ferry::storage::schedule_ref;
using ferry::storage::schedule_store;

namespace {

std::string temp_dir() {
  std::random_device rd;
  auto p = std::filesystem::temp_directory_path() / ("ferry-schedule-test-" + std::to_string(rd()));
  std::filesystem::create_directories(p);
  return p.string();
}

std::vector<schedule_entry> scan(schedule_store& s, schedule_key from, int64_t until,
                                 size_t limit = 1000) {
  std::vector<schedule_entry> out;
  auto err = s.scan(from, until, [&](const schedule_key& k, std::string_view v) {
    out.push_back({k, std::string(v), {}});
    return out.size() < limit;
  });
  REQUIRE_FALSE(err);
  return out;
}

std::vector<schedule_entry> scan_group(schedule_store& s, std::string_view group,
                                       schedule_key from = {}) {
  std::vector<schedule_entry> out;
  REQUIRE_FALSE(s.scan_group(group, from, [&](const schedule_key& k, std::string_view v) {
    out.push_back({k, std::string(v), std::string(group)});
    return true;
  }));
  return out;
}

void exercise(schedule_store& s) {
  std::vector<schedule_entry> add{{{2000, 1}, "b", "t2"},
                                  {{1000, 7}, "a2", "t1"},
                                  {{1000, 3}, "a1", "t"},
                                  {{3000, 0}, "c", "t1"},
                                  {{(int64_t{1} << 40), 9}, "far", "t"}};
  REQUIRE_FALSE(s.apply(add, {}));
  auto due = scan(s, {}, 2000);
  REQUIRE(due.size() == 3);  // due by 2000, in due-time then sequence order
  CHECK(due[0].value == "a1");
  CHECK(due[1].value == "a2");
  CHECK(due[2].value == "b");
  CHECK(scan(s, {}, 999).empty());               // nothing is due early
  CHECK(scan(s, {}, INT64_MAX, 2).size() == 2);  // the callback stops the scan
  CHECK(scan(s, {1000, 4}, 2000).size() == 2);   // from a key on (inclusive)
  CHECK(scan(s, {}, INT64_MAX).back().value == "far");
  CHECK(scan(s, {}, INT64_MAX).size() == 5);  // the group keys are not entries
  // One group's entries, in key order; "t" is not a prefix of "t1" here.
  auto t1 = scan_group(s, "t1");
  REQUIRE(t1.size() == 2);
  CHECK(t1[0].value == "a2");
  CHECK(t1[1].value == "c");
  CHECK(scan_group(s, "t1", {1000, 8}).size() == 1);
  REQUIRE(scan_group(s, "t").size() == 2);
  CHECK(scan_group(s, "t").back().value == "far");
  CHECK(scan_group(s, "nothing").empty());
  std::string v;
  bool found = false;
  REQUIRE_FALSE(s.get({2000, 1}, v, found));
  CHECK(found);
  CHECK(v == "b");
  REQUIRE_FALSE(s.get({2000, 2}, v, found));
  CHECK_FALSE(found);
  // Released and new ones in one batch.
  std::vector<schedule_ref> done{{{1000, 3}, "t"}, {{1000, 7}, "t1"}};
  std::vector<schedule_entry> more{{{1500, 2}, "m", "t2"}};
  REQUIRE_FALSE(s.apply(more, done));
  due = scan(s, {}, 2000);
  REQUIRE(due.size() == 2);
  CHECK(due[0].value == "m");
  CHECK(due[1].value == "b");
  CHECK(scan_group(s, "t1").size() == 1);
  CHECK(scan_group(s, "t").size() == 1);
  CHECK(scan_group(s, "t2").size() == 2);
}

}  // namespace

TEST_CASE("schedule keys sort as their due time and sequence", "[storage][schedule]") {
  rc::check([](uint32_t due_a, uint64_t seq_a, uint32_t due_b, uint64_t seq_b) {
    const schedule_key a{int64_t{due_a} * 1000, seq_a}, b{int64_t{due_b} * 1000, seq_b};
    const auto ea = ferry::storage::encode_schedule_key(a);
    const auto eb = ferry::storage::encode_schedule_key(b);
    RC_ASSERT(ea.size() == ferry::storage::schedule_key_bytes);
    RC_ASSERT((ea < eb) == (a < b));
    schedule_key back;
    RC_ASSERT(ferry::storage::decode_schedule_key(ea, back));
    RC_ASSERT(back == a);
  });
  schedule_key k;
  CHECK_FALSE(ferry::storage::decode_schedule_key("short", k));
}

TEST_CASE("memory schedule_store keeps entries in due order", "[storage][schedule]") {
  auto e = ferry::storage::make_memory_engine();
  exercise(e->schedule());
}

TEST_CASE("rocks schedule_store behaves the same and survives a reopen", "[storage][schedule]") {
  auto dir = temp_dir();
  ferry::error err;
  {
    auto e = ferry::storage::open_rocks_engine({dir}, err);
    REQUIRE(e);
    exercise(e->schedule());
  }
  auto e = ferry::storage::open_rocks_engine({dir}, err);
  REQUIRE(e);
  auto left = scan(e->schedule(), {}, INT64_MAX);
  REQUIRE(left.size() == 4);
  CHECK(left[0].value == "m");
  CHECK(left[3].value == "far");
  e.reset();
  std::filesystem::remove_all(dir);
}

TEST_CASE("a data directory made before the schedule column family opens, and schedules",
          "[storage][schedule]") {
  auto dir = temp_dir();
  {
    rocksdb::Options o;
    o.create_if_missing = true;
    o.create_missing_column_families = true;
    std::vector<rocksdb::ColumnFamilyDescriptor> cfs{
        {rocksdb::kDefaultColumnFamilyName, {}}, {"meta", {}}, {"log", {}}};
    std::vector<rocksdb::ColumnFamilyHandle*> handles;
    rocksdb::DB* db = nullptr;
    REQUIRE(rocksdb::DB::Open(o, dir + "/rocksdb", cfs, &handles, &db).ok());
    for (auto* h : handles)
      REQUIRE(db->DestroyColumnFamilyHandle(h).ok());
    delete db;
  }
  ferry::error err;
  auto e = ferry::storage::open_rocks_engine({dir}, err);
  REQUIRE(e);
  std::vector<schedule_entry> one{{{5, 1}, "x", "t"}};
  REQUIRE_FALSE(e->schedule().apply(one, {}));
  CHECK(scan(e->schedule(), {}, 5).size() == 1);
  e.reset();
  std::filesystem::remove_all(dir);
}
