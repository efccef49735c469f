// rocks_log_store on a disk that really fills up: a 4 MiB tmpfs mounted for the test.
//
// Mounting needs root. Where it is not permitted the binary exits 77 and CTest reports the
// test as Skipped (SKIP_RETURN_CODE), never as Passed; any other failure to mount fails.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include "storage/engine.h"
#include "storage/log/log_test_support.h"
#include "tests/support/tmpfs_mount.h"

using namespace ferry::storage;
using namespace ferry::storage::testing;
using ferry::errc;

namespace {

const ferry::testing::tmpfs_mount* disk = nullptr;  // set by main() for the test cases

}  // namespace

TEST_CASE(
    "rocks log_store fails an append with DISK_FULL when the disk is full, and keeps what was "
    "written",
    "[storage][log][rocks][disk-full]") {
  REQUIRE(disk != nullptr);
  const partition_id pid{4, 0};
  ferry::error err;
  auto e = open_rocks_engine({disk->path() + "/data"}, err);
  INFO(err.to_string());
  REQUIRE(e);
  uint64_t written = 0;
  for (int i = 0; i < 200 && !err; ++i) {  // 200 x 64 KiB: well past 4 MiB
    err = append_one(e->log(), records(pid, written, 16, 4096), true);
    if (!err) written += 16;
  }
  INFO(err.to_string());
  CHECK(err.code == errc::disk_full);
  CHECK(err.message.find("log append") == 0);
  CHECK(written > 0);
  partition_bounds bd;
  REQUIRE_FALSE(e->log().bounds(pid, bd));
  CHECK(bd.next == written);  // the failed batch wrote nothing
  std::vector<read_record> got;
  REQUIRE_FALSE(read_decoded(e->log(), pid, 0, written + 10, 64 << 20, got));
  REQUIRE(got.size() == written);
  for (uint64_t i = 0; i < written; ++i) {
    REQUIRE(got[i].offset == i);
    REQUIRE(got[i].message == std::string(4096, static_cast<char>('a' + i % 26)));
  }
  // Still refused while the disk stays full.
  CHECK(append_one(e->log(), records(pid, written, 1, 10), true).code == errc::disk_full);
}

int main(int argc, char** argv) {
  ferry::testing::enter_private_mount_namespace();
  ferry::testing::tmpfs_mount m(temp_dir("rocks-log-full"), 4);
  if (!m.mounted()) return m.exit_code_for_failure();
  disk = &m;
  return ferry::testing::test_exit_code(Catch::Session().run(argc, argv));
}
