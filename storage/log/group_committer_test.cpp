// group_committer: every request answered once, in submission order, and requests that
// queue while a write is in flight go together (group commit). A gate in the store holds
// the committer inside a write, so the grouping is forced, not left to timing.
#include "storage/group_committer.h"

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <mutex>
#include <thread>

#include <catch2/catch.hpp>

#include "storage/engine.h"
#include "storage/log/log_test_support.h"
#include "storage/memory/memory_log_store.h"

using namespace ferry::storage;
using namespace ferry::storage::testing;
using ferry::errc;

namespace {

// A memory store that counts writes and, while closed, holds append() until opened.
class gated_store final : public log_store {
 public:
  memory_log_store inner;

  void close() { set_closed(true); }
  void open() { set_closed(false); }
  // Waits until the committer is inside append().
  void wait_entered() {
    std::unique_lock lock(mu_);
    cv_.wait(lock, [this] { return entered_; });
  }
  int appends() { return counted(appends_); }
  int synced_appends() { return counted(synced_appends_); }
  int sync_wals() { return counted(sync_wals_); }

  ferry::error append(std::span<const partition_append* const> batch, bool sync) override {
    {
      std::unique_lock lock(mu_);
      ++appends_;
      synced_appends_ += sync ? 1 : 0;
      entered_ = true;
      cv_.notify_all();
      cv_.wait(lock, [this] { return !closed_; });
    }
    return inner.append(batch, sync);
  }
  ferry::error sync_wal() override {
    {
      std::lock_guard lock(mu_);
      ++sync_wals_;
    }
    return inner.sync_wal();
  }
  ferry::error read(partition_id pid, uint64_t from, size_t max_records, size_t max_bytes,
                    std::vector<uint8_t>& buffer, std::vector<stored_record>& out) override {
    return inner.read(pid, from, max_records, max_bytes, buffer, out);
  }
  ferry::error bounds(partition_id pid, partition_bounds& out) override {
    return inner.bounds(pid, out);
  }
  ferry::error offset_for_time(partition_id pid, int64_t ts_ms, uint64_t& out) override {
    return inner.offset_for_time(pid, ts_ms, out);
  }
  ferry::error truncate_prefix(partition_id pid, uint64_t new_start) override {
    return inner.truncate_prefix(pid, new_start);
  }
  ferry::error drop_partition(partition_id pid) override { return inner.drop_partition(pid); }
  ferry::error load_producers(partition_id pid, std::vector<producer_state>& out) override {
    return inner.load_producers(pid, out);
  }

 private:
  void set_closed(bool closed) {
    std::lock_guard lock(mu_);
    closed_ = closed;
    cv_.notify_all();
  }
  int counted(const int& n) {
    std::lock_guard lock(mu_);
    return n;
  }
  std::mutex mu_;
  std::condition_variable cv_;
  bool closed_ = false;
  bool entered_ = false;
  int appends_ = 0, synced_appends_ = 0, sync_wals_ = 0;
};

// Counts the answers of each request; every slot must end at exactly 1.
struct answers {
  explicit answers(size_t n) : calls(n), errors(n) {}
  group_committer::callback slot(size_t i) {
    return [this, i](const ferry::error& err) {
      errors[i] = err.code;
      ++calls[i];
    };
  }
  bool all_once() const {
    for (const auto& c : calls)
      if (c.load() != 1) return false;
    return true;
  }
  std::vector<std::atomic<int>> calls;
  std::vector<std::error_code> errors;  // each written by its one callback
};

partition_append one_record(partition_id pid, uint64_t offset, size_t bytes = 8) {
  return make_append(pid, offset, {{static_cast<int64_t>(offset), std::string(bytes, 'x')}});
}

// Checks that `pid` holds exactly offsets 0..n-1, in order.
void check_dense(log_store& s, partition_id pid, uint64_t n) {
  std::vector<read_record> got;
  REQUIRE_FALSE(read_decoded(s, pid, 0, n + 1, 1 << 30, got));
  REQUIRE(got.size() == n);
  for (uint64_t i = 0; i < n; ++i)
    REQUIRE(got[i].offset == i);
}

}  // namespace

TEST_CASE("group_committer commits requests queued during a write as one batch",
          "[storage][committer]") {
  gated_store store;
  group_committer gc(store);
  const int threads = 8, per_thread = 10;
  answers done(1 + threads * per_thread + 1);
  store.close();
  gc.submit(one_record({1, 99}, 0), false, done.slot(0));
  store.wait_entered();  // the committer is now inside the first write
  std::vector<std::thread> ts;
  for (int t = 0; t < threads; ++t)
    ts.emplace_back([&, t] {
      for (int i = 0; i < per_thread; ++i) {
        size_t slot = 1 + static_cast<size_t>(t * per_thread + i);
        gc.submit(one_record({1, static_cast<uint32_t>(t)}, static_cast<uint64_t>(i)), i == 3,
                  done.slot(slot));
      }
    });
  for (auto& t : ts)
    t.join();
  gc.sync(done.slot(done.calls.size() - 1));
  store.open();
  gc.stop();

  CHECK(done.all_once());
  for (const auto& e : done.errors)
    CHECK_FALSE(e);
  auto st = gc.stats();
  CHECK(st.requests == done.calls.size());
  CHECK(st.records == 1 + threads * per_thread);
  CHECK(st.batches == 2);  // the first write, then everything queued behind it
  CHECK(st.batches < st.requests);
  // The synced appends and the sync request share the second write's one fsync.
  CHECK(st.syncs == 1);
  CHECK(store.synced_appends() == 1);
  CHECK(store.sync_wals() == 0);
  for (int t = 0; t < threads; ++t)
    check_dense(store, {1, static_cast<uint32_t>(t)}, per_thread);
}

TEST_CASE("group_committer turns a batch of sync requests into one sync_wal",
          "[storage][committer]") {
  gated_store store;
  group_committer gc(store);
  answers done(4);
  store.close();
  gc.submit(one_record({1, 0}, 0), false, done.slot(0));
  store.wait_entered();
  for (size_t i = 1; i < 4; ++i)
    gc.sync(done.slot(i));
  store.open();
  gc.stop();
  CHECK(done.all_once());
  auto st = gc.stats();
  CHECK((st.batches == 1 && st.requests == 4 && st.syncs == 1));
  CHECK(store.sync_wals() == 1);
  CHECK(store.synced_appends() == 0);
}

TEST_CASE("group_committer bounds a batch by max_batch_bytes, but always takes one",
          "[storage][committer]") {
  gated_store store;
  const size_t value = record_header_bytes + 100;
  group_committer gc(store, 2 * value + value / 2);  // room for two records of 100 bytes
  answers done(12);
  store.close();
  gc.submit(one_record({1, 0}, 0, 100), false, done.slot(0));
  store.wait_entered();
  for (uint64_t i = 1; i <= 10; ++i)
    gc.submit(one_record({1, 0}, i, 100), false, done.slot(i));
  gc.submit(one_record({1, 0}, 11, 10000), false, done.slot(11));  // larger than the limit
  store.open();
  gc.stop();
  CHECK(done.all_once());
  CHECK(gc.stats().batches == 1 + 5 + 1);
  check_dense(store, {1, 0}, 12);
}

TEST_CASE("group_committer passes a failed write's error to every request of the batch",
          "[storage][committer]") {
  gated_store store;
  group_committer gc(store);
  answers done(4);
  store.inner.fail_writes_for_test({make_error_code(errc::disk_full), "full"});
  store.close();
  gc.submit(one_record({1, 0}, 0), false, done.slot(0));
  store.wait_entered();
  gc.submit(one_record({1, 0}, 1), true, done.slot(1));
  gc.sync(done.slot(2));
  auto bad = one_record({1, 1}, 0);
  bad.ends[0] = 1000;  // malformed: refused alone, at once
  gc.submit(std::move(bad), false, done.slot(3));
  CHECK(done.calls[3] == 1);
  CHECK(done.errors[3] == errc::invalid_argument);
  store.open();
  gc.stop();
  CHECK(done.all_once());
  for (size_t i = 0; i < 3; ++i)
    CHECK(done.errors[i] == errc::disk_full);
}

TEST_CASE("group_committer stop drains what was submitted, then refuses new requests",
          "[storage][committer]") {
  gated_store store;
  answers done(22);
  {
    group_committer gc(store);
    for (uint64_t i = 0; i < 20; ++i)
      gc.submit(one_record({1, 0}, i), i % 7 == 0, done.slot(i));
    gc.stop();
    for (size_t i = 0; i < 20; ++i)
      CHECK(done.calls[i] == 1);
    gc.submit(one_record({1, 0}, 20), false, done.slot(20));
    gc.sync(done.slot(21));
    CHECK(done.errors[20] == errc::shutting_down);
    CHECK(done.errors[21] == errc::shutting_down);
    gc.stop();  // again: nothing to do
  }             // and the destructor after stop
  CHECK(done.all_once());
  check_dense(store, {1, 0}, 20);
}

TEST_CASE("group_committer over RocksDB: concurrent writers, every record in order",
          "[storage][committer][rocks]") {
  auto dir = temp_dir("committer");
  const int threads = 4, per_thread = 250;
  {
    ferry::error err;
    auto e = open_rocks_engine({dir}, err);
    REQUIRE(e);
    answers done(threads * per_thread);
    group_committer gc(e->log());
    std::vector<std::thread> ts;
    for (int t = 0; t < threads; ++t)
      ts.emplace_back([&, t] {
        for (int i = 0; i < per_thread; ++i)
          gc.submit(one_record({2, static_cast<uint32_t>(t)}, static_cast<uint64_t>(i), 200),
                    i % 10 == 0, done.slot(static_cast<size_t>(t * per_thread + i)));
      });
    for (auto& t : ts)
      t.join();
    gc.stop();
    CHECK(done.all_once());
    for (const auto& ec : done.errors)
      CHECK_FALSE(ec);
    auto st = gc.stats();
    CHECK(st.requests == static_cast<uint64_t>(threads * per_thread));
    CHECK(st.records == st.requests);
    CHECK(st.batches <= st.requests);
    INFO("batches " << st.batches << " for " << st.requests << " requests");
    for (int t = 0; t < threads; ++t)
      check_dense(e->log(), {2, static_cast<uint32_t>(t)}, per_thread);
  }
  std::filesystem::remove_all(dir);
}

TEST_CASE("group_committer writes an unsynced append on the caller's thread while idle",
          "[storage][committer]") {
  gated_store store;
  group_committer gc(store);
  for (uint64_t i = 0; i < 3; ++i) {
    auto got = gc.write_now(one_record({1, 0}, i));
    REQUIRE(got.has_value());  // written before write_now returned
    CHECK_FALSE(*got);
  }
  CHECK(store.synced_appends() == 0);
  auto st = gc.stats();
  CHECK((st.batches == 3 && st.requests == 3 && st.records == 3 && st.syncs == 0));
  check_dense(store, {1, 0}, 3);
  // After a write_now the committer still takes what is submitted, in order behind it.
  answers done(1);
  gc.submit(one_record({1, 0}, 3), false, done.slot(0));
  gc.stop();
  CHECK(done.all_once());
  check_dense(store, {1, 0}, 4);
}

TEST_CASE("group_committer leaves to the committer what finds it busy, large or stopped",
          "[storage][committer]") {
  gated_store store;
  group_committer gc(store);
  // Too large, while the committer is idle: only the size sends it there.
  CHECK_FALSE(gc.write_now(one_record({1, 1}, 0, group_committer::kWriteNowBytes + 1)));
  CHECK(store.appends() == 0);
  answers done(2);
  store.close();
  gc.submit(one_record({1, 0}, 0), false, done.slot(0));
  store.wait_entered();  // a write in flight
  auto busy = one_record({1, 0}, 1);
  CHECK_FALSE(gc.write_now(busy));
  gc.submit(std::move(busy), false, done.slot(1));  // what the caller then does
  store.open();
  gc.stop();
  CHECK_FALSE(gc.write_now(one_record({1, 0}, 2)));
  CHECK(done.all_once());
  check_dense(store, {1, 0}, 2);
}

TEST_CASE("group_committer's write_now refuses a malformed append without writing it",
          "[storage][committer]") {
  gated_store store;
  group_committer gc(store);
  auto bad = one_record({1, 0}, 0);
  bad.ends.push_back(1 << 20);  // past the data: refused by check_append
  auto got = gc.write_now(bad);
  REQUIRE(got.has_value());
  CHECK(got->code == make_error_code(errc::invalid_argument));
  CHECK(store.appends() == 0);
}
