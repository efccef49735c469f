// A real ferryd whose disk fills up. Its data dir is a tmpfs mounted for the test, mostly
// taken by a filler file written before ferryd starts. A log topic is published to until
// DISK_FULL comes back. Then the filler is deleted (RocksDB's own files are not touched)
// and writes must work again.
//
// Sizes: the log column family has 128 MiB write buffers, and RocksDB clears a
// no-space error only once that much is free again (it checks every 5 s). So the tmpfs
// is 256 MiB: the filler leaves 16 MiB free (fills in about a second), and deleting it
// frees more than 128 MiB. tmpfs only uses memory for what is written.
//
// Mounting needs root. Where it is not permitted the binary exits 77, which CTest reports
// as Skipped (SKIP_RETURN_CODE), never as Passed. Every wait is bounded.
#define CATCH_CONFIG_RUNNER
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <thread>

#include <catch2/catch.hpp>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/support/broker_process.h"
#include "tests/support/log_helpers.h"
#include "tests/support/raw_client.h"
#include "tests/support/tmpfs_mount.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
namespace v1 = ferry::v1;

namespace {

constexpr size_t tmpfs_mib = 256;
constexpr uint64_t left_free_bytes = 16 << 20;
constexpr size_t record_bytes = 16 << 10;
constexpr size_t records_per_frame = 16;

const tmpfs_mount* disk = nullptr;  // set by main()

// Fills `path` with `bytes` of data (written, so tmpfs really holds the pages).
bool write_filler(const std::string& path, uint64_t bytes) {
  int fd = ::open(path.c_str(), O_CREAT | O_WRONLY | O_TRUNC, 0600);
  if (fd < 0) return false;
  std::string chunk(1 << 20, 'f');
  bool ok = true;
  while (ok && bytes > 0) {
    size_t n = static_cast<size_t>(std::min<uint64_t>(bytes, chunk.size()));
    ssize_t w = ::write(fd, chunk.data(), n);
    ok = w == static_cast<ssize_t>(n);
    bytes -= ok ? n : 0;
  }
  return ::close(fd) == 0 && ok;
}

// The payload of the record at `offset`: says its offset, then padding.
std::string payload_for(uint64_t offset) {
  std::string p = "record ";
  p.append(std::to_string(offset)).append(" ");
  p.resize(record_bytes, static_cast<char>('a' + offset % 26));
  return p;
}

v1::Frame publish_from(uint64_t first_offset, size_t n) {
  std::vector<std::pair<std::string, std::string>> msgs;
  for (size_t i = 0; i < n; ++i)
    msgs.emplace_back("", payload_for(first_offset + i));
  return publish_frame("disk", msgs, 0);
}

v1::Frame create_memory_topic(const std::string& name) {
  v1::Frame f;
  f.mutable_create_topic()->set_name(name);
  f.mutable_create_topic()->set_kind(v1::MEMORY);
  return f;
}

bool still_running(const broker_process& b) {
  int status = 0;
  return ::waitpid(b.pid(), &status, WNOHANG) == 0;
}

// Reads the partition from `from` and checks that exactly offsets [from, end) come back,
// each with its own payload.
void check_records(const broker_process& b, uint64_t from, uint64_t end) {
  raw_client r(b.host(), b.port());
  r.handshake();
  auto ok = r.request(consume_frame("disk", 0, v1::Position::OFFSET, static_cast<int64_t>(from),
                                    static_cast<uint32_t>(end - from)));
  REQUIRE(ok.has_consume_log_ok());
  auto got = read_records(r, end - from, 5s);
  REQUIRE(got.size() == end - from);
  for (uint64_t i = 0; i < got.size(); ++i) {
    INFO("record " << i);
    REQUIRE(got[i].offset == from + i);
    REQUIRE(got[i].payload == payload_for(from + i));
  }
}

// Publishes until the disk is full (at most twice what should fit, for at most 20 s):
// how many records were acknowledged, and the PublishOk that refused the first write.
uint64_t fill_disk(raw_client& c, std::optional<v1::PublishOk>& refused) {
  uint64_t acked = 0;
  const auto fill_deadline = std::chrono::steady_clock::now() + 20s;
  const uint64_t max_frames = 2 * left_free_bytes / (record_bytes * records_per_frame);
  for (uint64_t i = 0; i < max_frames && std::chrono::steady_clock::now() < fill_deadline; ++i) {
    auto r = c.request(publish_from(acked, records_per_frame), 10s);
    REQUIRE(r.has_publish_ok());
    const auto& ok = r.publish_ok();
    if (ok.errors_size() > 0) {
      refused = ok;
      break;
    }
    REQUIRE(ok.accepted() == records_per_frame);
    for (size_t k = 0; k < records_per_frame; ++k)
      REQUIRE(ok.offsets(static_cast<int>(k)) == acked + k);
    acked += records_per_frame;
  }
  return acked;
}

// While the disk is full the broker stays up and serves everything that needs no space.
void expect_serving_while_full(const broker_process& b, raw_client& c, uint64_t acked) {
  CHECK(still_running(b));
  auto again = c.request(publish_from(acked, 1), 10s);
  REQUIRE(again.has_publish_ok());
  REQUIRE(again.publish_ok().errors_size() == 1);
  CHECK(again.publish_ok().errors(0).code() == v1::DISK_FULL);
  auto info = c.request(describe_frame("disk"));
  REQUIRE(info.has_topic_info());
  CHECK(info.topic_info().partitions(0).log_start() == 0);
  CHECK(info.topic_info().partitions(0).log_end() == acked);  // no gap, nothing half-written
  v1::Frame list;
  list.mutable_list_topics();
  CHECK(c.request(list).has_topic_list());
  check_records(b, 0, acked);
  auto memory = c.request(publish_frame("memory", {{"", "not stored"}}));  // needs no disk
  REQUIRE(memory.has_publish_ok());
  CHECK(memory.publish_ok().errors_size() == 0);
  // A definition cannot be stored now: refused, and not half-created.
  auto late = c.request(create_memory_topic("late"));
  REQUIRE(late.has_error());
  CHECK(late.error().code() == v1::DISK_FULL);
  CHECK(c.request(describe_frame("late")).error().code() == v1::TOPIC_NOT_FOUND);
}

// Space came back: RocksDB clears the error by itself (it checks every 5 s). Polls until a
// record is written (at the next offset: the failed writes left no gap); the new count.
uint64_t wait_writable(raw_client& c, uint64_t acked) {
  const auto recover_deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < recover_deadline) {
    auto r = c.request(publish_from(acked, 1), 10s);
    REQUIRE(r.has_publish_ok());
    if (r.publish_ok().errors_size() == 0) {
      CHECK(r.publish_ok().offsets(0) == acked);
      return acked + 1;
    }
    CHECK(r.publish_ok().errors(0).code() == v1::DISK_FULL);
    std::this_thread::sleep_for(200ms);  // polling a real broker's background recovery
  }
  FAIL("the broker did not write again within 20 s of space being freed");
  return acked;
}

}  // namespace

TEST_CASE(
    "a broker on a full disk answers DISK_FULL, keeps serving what it acknowledged, and writes "
    "again once space is freed",
    "[log][disk-full]") {
  REQUIRE(disk != nullptr);
  const std::string filler = disk->path() + "/filler";
  REQUIRE(disk->free_bytes() > left_free_bytes);
  REQUIRE(write_filler(filler, disk->free_bytes() - left_free_bytes));
  broker_process b({}, disk->path() + "/data");
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(create_log_topic(c, "disk", 1, v1::FSYNC_ALWAYS).has_topic_info());
  REQUIRE(c.request(create_memory_topic("memory")).has_topic_info());

  std::optional<v1::PublishOk> refused;
  uint64_t acked = fill_disk(c, refused);
  INFO(acked << " records acknowledged; " << disk->free_bytes() << " bytes free");
  REQUIRE(refused);
  CHECK(acked > 0);
  // Publishers get a clear error for every message of the write.
  CHECK(refused->accepted() == 0);
  CHECK(refused->errors_size() == static_cast<int>(records_per_frame));
  for (const auto& e : refused->errors()) {
    CHECK(e.code() == v1::DISK_FULL);
    CHECK_FALSE(e.message().empty());
  }
  expect_serving_while_full(b, c, acked);

  REQUIRE(std::filesystem::remove(filler));
  acked = wait_writable(c, acked);
  REQUIRE(c.request(publish_from(acked, records_per_frame), 10s).publish_ok().accepted() ==
          records_per_frame);
  acked += records_per_frame;
  check_records(b, 0, acked);
  CHECK(c.request(create_memory_topic("late")).has_topic_info());

  // And everything acknowledged survives a restart.
  CHECK(b.stop() == 0);
  b.restart();
  check_records(b, 0, acked);
  CHECK(b.stop() == 0);
}

int main(int argc, char** argv) {
  enter_private_mount_namespace();  // before any thread: the mount dies with this process
  tmpfs_mount m(make_temp_dir("ferry-disk-full"), tmpfs_mib);
  if (!m.mounted()) return m.exit_code_for_failure();
  disk = &m;
  return test_exit_code(Catch::Session().run(argc, argv));
}
