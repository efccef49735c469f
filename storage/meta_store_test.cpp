// Contract tests: both meta_store implementations behave alike; the RocksDB one keeps
// its records across a reopen.
#include <filesystem>
#include <map>
#include <random>

#include <catch2/catch.hpp>

#include "storage/engine.h"

namespace {

std::string temp_dir() {
  std::random_device rd;
  auto p = std::filesystem::temp_directory_path() / ("ferry-storage-test-" + std::to_string(rd()));
  std::filesystem::create_directories(p);
  return p.string();
}

std::map<std::string, std::string> scan_all(ferry::storage::meta_store& m,
                                            std::string_view prefix) {
  std::map<std::string, std::string> out;
  auto err =
      m.scan(prefix, [&](std::string_view k, std::string_view v) { out[std::string(k)] = v; });
  REQUIRE_FALSE(err);
  return out;
}

void exercise(ferry::storage::meta_store& m) {
  REQUIRE_FALSE(m.put("topic/b", "2"));
  REQUIRE_FALSE(m.put("topic/a", "1"));
  REQUIRE_FALSE(m.put("sub/x", "9"));
  REQUIRE_FALSE(m.put("topic/a", "1bis"));
  auto topics = scan_all(m, "topic/");
  CHECK(topics == std::map<std::string, std::string>{{"topic/a", "1bis"}, {"topic/b", "2"}});
  REQUIRE_FALSE(m.erase("topic/b"));
  REQUIRE_FALSE(m.erase("topic/never"));
  CHECK(scan_all(m, "topic/").size() == 1);
  CHECK(scan_all(m, "sub/").size() == 1);
  CHECK(scan_all(m, "").size() == 2);
  std::vector<ferry::storage::meta_change> batch{{"topic/c", "3"}, {"sub/x", std::nullopt}};
  REQUIRE_FALSE(m.apply(batch));
  CHECK(scan_all(m, "") ==
        std::map<std::string, std::string>{{"topic/a", "1bis"}, {"topic/c", "3"}});
  REQUIRE_FALSE(m.put("sub/x", "9"));
  REQUIRE_FALSE(m.erase("topic/c"));
}

}  // namespace

TEST_CASE("memory meta_store keeps, replaces, erases and scans by prefix", "[storage][meta]") {
  auto e = ferry::storage::make_memory_engine();
  exercise(e->meta());
}

TEST_CASE("rocks meta_store behaves the same and survives a reopen", "[storage][meta]") {
  auto dir = temp_dir();
  ferry::error err;
  {
    auto e = ferry::storage::open_rocks_engine({dir}, err);
    REQUIRE(e);
    exercise(e->meta());
  }
  {
    auto e = ferry::storage::open_rocks_engine({dir}, err);
    REQUIRE(e);
    auto all = scan_all(e->meta(), "");
    CHECK(all == std::map<std::string, std::string>{{"sub/x", "9"}, {"topic/a", "1bis"}});
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("opening a data dir that cannot be created fails with a clear error", "[storage][meta]") {
  ferry::error err;
  auto e = ferry::storage::open_rocks_engine({"/proc/ferry-cannot-exist/data"}, err);
  CHECK(e == nullptr);
  CHECK(err.code == ferry::errc::storage_error);
  CHECK(err.message.find("/proc/ferry-cannot-exist/data") != std::string::npos);
}
