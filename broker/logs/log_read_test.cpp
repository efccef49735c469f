// Log topics, reading and retention: positions, credit, the tail cache, seeks, retention,
// fsync intervals (unit tests over testing_port; see log_test_fixture.h).
#include "broker/logs/log_test_fixture.h"

// ---- readers ----

TEST_CASE("a reader starts at earliest, latest or an offset, and other offsets are refused",
          "[topics][log][read]") {
  fixture f(log_options(2));
  f.published(msgs({"m0", "m1", "m2", "m3", "m4"}), 0);
  auto& earliest = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
  auto latest = f.attach(100, {start_at(0, v1::Position::LATEST)});
  auto& from3 = f.reader(100, {start_at(0, v1::Position::OFFSET, 3)});
  auto& at_end = f.reader(100, {start_at(0, v1::Position::OFFSET, 5)});
  f.port.run_all();
  CHECK(f.delivered_offsets(earliest) == offsets{0, 1, 2, 3, 4});
  REQUIRE_FALSE(latest.err);
  REQUIRE(latest.assigned.size() == 1);
  CHECK(latest.assigned[0].next_offset() == 5);
  CHECK(f.delivered_offsets(*latest.c).empty());
  CHECK(f.delivered_payloads(from3) == payloads{"m3", "m4"});
  CHECK(f.delivered_offsets(at_end).empty());

  auto beyond = f.attach(100, {start_at(0, v1::Position::OFFSET, 6)});
  CHECK(beyond.err.code == errc::offset_out_of_range);
  CHECK(beyond.err.message.find("[0, 5]") != std::string::npos);
  CHECK(beyond.c->reader() == nullptr);
  auto no_partition = f.attach(100, {start_at(2, v1::Position::EARLIEST)});
  CHECK(no_partition.err.code == errc::partition_not_found);

  f.published(msgs({"m5"}), 0);  // new records reach every reader at the tail
  for (consumer* c : {&earliest, latest.c, &from3, &at_end})
    CHECK(f.delivered_offsets(*c).back() == 5);

  ferry::error resolved_err;
  uint64_t resolved = 99;
  auto resolve = [&](v1::Position::Kind kind, int64_t value) {
    v1::Position pos;
    pos.set_kind(kind);
    pos.set_value(value);
    f.topic->resolve(0, pos, [&](ferry::error e, uint64_t off) {
      resolved_err = std::move(e);
      resolved = off;
    });
    f.port.run_all();
  };
  resolve(v1::Position::OFFSET, 7);
  CHECK(resolved_err.code == errc::offset_out_of_range);
  resolve(v1::Position::EARLIEST, 0);
  CHECK(resolved == 0);
  resolve(v1::Position::LATEST, 0);
  CHECK(resolved == 6);
  resolve(v1::Position::TIME, f.clock.wall_ms() + 1);  // later than every record
  CHECK_FALSE(resolved_err);
  CHECK(resolved == 6);
  resolve(v1::Position::TIME, 0);
  CHECK(resolved == 0);
}

TEST_CASE("a log reader gets no more deliveries than its credit", "[topics][log][read]") {
  fixture f(log_options(1));
  f.published(msgs({"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}), 0);
  auto& r = f.reader(3, {start_at(0, v1::Position::EARLIEST)});
  f.port.run_all();
  CHECK(f.delivered_offsets(r) == offsets{0, 1, 2});
  CHECK(r.outstanding() == 3);
  f.topic->credit(r, 2);
  f.port.run_all();
  CHECK(f.delivered_offsets(r) == offsets{0, 1, 2, 3, 4});
  f.published(msgs({"10"}), 0);  // no credit: nothing more
  CHECK(f.delivered_offsets(r).size() == 5);
  f.topic->credit(r, 3);
  f.port.run_all();
  CHECK(f.delivered_offsets(r) == offsets{0, 1, 2, 3, 4, 5, 6, 7});
  f.topic->credit(r, 100);  // more than was outstanding: the window stays at 3
  f.port.run_all();
  CHECK(f.delivered_offsets(r) == offsets{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10});
  CHECK(r.outstanding() == 3);
  CHECK(f.delivered_payloads(r).back() == "10");
}

TEST_CASE("a log reader behind the tail cache reads older records from storage, in order",
          "[topics][log][read]") {
  fixture f(log_options(1));
  f.cfg.tail_cache_bytes = 1;  // the cache keeps only the newest record
  f.published(msgs({"r0", "r1", "r2", "r3", "r4", "r5"}), 0);
  SECTION("one storage read up to the cache") {
    auto& r = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
    CHECK(f.delivered_offsets(r).empty());  // waiting for storage
    REQUIRE(f.port.reads.size() == 1);
    CHECK(f.port.reads[0].from == 0);
    CHECK(f.port.reads[0].max_records == 5);  // stops where the cache begins
    REQUIRE(f.port.run_next(op::read));
    CHECK(f.delivered_offsets(r) == offsets{0, 1, 2, 3, 4, 5});  // the last from the cache
    CHECK(f.delivered_payloads(r) == payloads{"r0", "r1", "r2", "r3", "r4", "r5"});
    CHECK(f.port.reads.size() == 1);
  }
  SECTION("reads limited by credit and by read_batch_bytes") {
    f.cfg.read_batch_bytes = 1;  // at least one record per read
    auto& r = f.reader(2, {start_at(0, v1::Position::EARLIEST)});
    f.port.run_all();
    CHECK(f.delivered_offsets(r) == offsets{0, 1});
    REQUIRE(f.port.reads.size() == 2);
    CHECK(f.port.reads[0].max_records == 2);
    f.topic->credit(r, 2);  // two consumed: two more
    f.port.run_all();
    CHECK(f.delivered_offsets(r) == offsets{0, 1, 2, 3});
    CHECK(f.port.reads.size() == 4);
    f.topic->credit(r, 2);
    f.port.run_all();
    CHECK(f.delivered_offsets(r) == offsets{0, 1, 2, 3, 4, 5});  // the last from the cache
    CHECK(f.port.reads.size() == 5);
  }
}

TEST_CASE("a seek drops the storage read that was under way for the old position",
          "[topics][log][read]") {
  fixture f(log_options(1));
  f.cfg.tail_cache_bytes = 1;
  f.published(msgs({"0", "1", "2", "3", "4", "5", "6", "7", "8", "9"}), 0);
  auto& r = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
  REQUIRE(f.port.queued(op::read) == 1);
  REQUIRE_FALSE(f.topic->seek(r, 0, 6));
  CHECK(f.port.queued(op::read) == 2);
  f.port.run_all();  // the stale read from 0 lands first and is dropped
  CHECK(f.delivered_offsets(r) == offsets{6, 7, 8, 9});

  CHECK(f.topic->seek(r, 0, 11).code == errc::offset_out_of_range);
  CHECK(f.topic->seek(r, 1, 0).code == errc::partition_not_found);
  REQUIRE_FALSE(f.topic->seek(r, 0, 2));
  f.port.run_all();
  CHECK(f.delivered_offsets(r) == offsets{6, 7, 8, 9, 2, 3, 4, 5, 6, 7, 8, 9});
}

// ---- retention ----

TEST_CASE("retention by time removes the records older than retention_ms in one truncation",
          "[topics][log][retention]") {
  auto o = log_options(1);
  o.set_retention_ms(60'000);
  fixture f(o);
  f.published(msgs({"old0", "old1", "old2", "old3"}), 0);
  f.clock.advance(30'000);
  f.published(msgs({"new0", "new1", "new2"}), 0);
  f.clock.advance(40'000);  // the old records are 70 s old, the new ones 40 s
  f.topic->on_tick(f.clock.steady_ms());
  f.port.run_all();
  REQUIRE(f.port.time_lookups.size() == 1);
  CHECK(f.port.time_lookups[0] == f.clock.wall_ms() - 60'000);
  REQUIRE(f.port.truncations.size() == 1);
  CHECK(f.port.truncations[0].new_start == 4);
  CHECK(f.topic->bounds(0).start == 4);
  CHECK(f.topic->bounds(0).next == 7);
  CHECK(f.stored_bounds(0).start == 4);
  auto& r = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
  f.port.run_all();
  CHECK(f.delivered_payloads(r) == payloads{"new0", "new1", "new2"});
  CHECK(f.attach(100, {start_at(0, v1::Position::OFFSET, 2)}).err.code ==
        errc::offset_out_of_range);
  // Nothing else is old enough yet.
  f.clock.advance(1'000);
  f.topic->on_tick(f.clock.steady_ms());
  f.port.run_all();
  CHECK(f.port.truncations.size() == 1);
}

TEST_CASE("retention by bytes keeps at most retention_bytes of the newest records",
          "[topics][log][retention]") {
  auto o = log_options(1);
  o.set_retention_ms(-1);
  o.set_retention_bytes(1000);
  fixture f(o);
  for (int i = 0; i < 20; ++i)
    f.published({{"", std::string(100, static_cast<char>('a' + i))}}, 0);
  const uint64_t record_bytes = f.stored_bounds(0).bytes / 20;
  REQUIRE(f.topic->bounds(0).bytes == 20 * record_bytes);
  f.topic->on_tick(f.clock.steady_ms());
  f.port.run_all();
  REQUIRE(f.port.truncations.size() == 1);
  CHECK(f.port.time_lookups.empty());  // no time limit
  const uint64_t kept = 1000 / record_bytes;
  CHECK(f.topic->bounds(0).start == 20 - kept);
  CHECK(f.topic->bounds(0).bytes == kept * record_bytes);
  CHECK(f.stored_bounds(0).bytes == kept * record_bytes);
  f.clock.advance(1'000);
  f.topic->on_tick(f.clock.steady_ms());
  f.port.run_all();
  CHECK(f.port.truncations.size() == 1);  // within the limit now
}

TEST_CASE("retention by time and by bytes together counts the removed bytes once",
          "[topics][log][retention]") {
  auto o = log_options(1);
  o.set_retention_ms(60'000);
  o.set_retention_bytes(1000);
  fixture f(o);
  for (int i = 0; i < 10; ++i)
    f.published({{"", std::string(100, 'o')}}, 0);
  f.clock.advance(70'000);
  for (int i = 0; i < 10; ++i)
    f.published({{"", std::string(100, 'n')}}, 0);
  const uint64_t record_bytes = f.stored_bounds(0).bytes / 20;
  f.topic->on_tick(f.clock.steady_ms());
  f.port.run_all();
  const uint64_t start = f.topic->bounds(0).start;
  CHECK(start == 20 - 1000 / record_bytes);
  CHECK(f.topic->bounds(0).bytes == (20 - start) * record_bytes);
  CHECK(f.stored_bounds(0).bytes == (20 - start) * record_bytes);
}

TEST_CASE("a log reader behind a new log start moves up to it", "[topics][log][retention]") {
  auto o = log_options(1);
  o.set_retention_ms(60'000);
  fixture f(o);
  f.published(msgs({"o0", "o1", "o2", "o3", "o4"}), 0);
  auto& r = f.reader(1, {start_at(0, v1::Position::EARLIEST)});
  f.port.run_all();
  CHECK(f.delivered_offsets(r) == offsets{0});  // and no credit left
  f.clock.advance(70'000);
  f.published(msgs({"n5", "n6"}), 0);
  f.topic->on_tick(f.clock.steady_ms());
  f.port.run_all();
  REQUIRE(f.topic->bounds(0).start == 5);
  f.topic->credit(r, 1);
  f.port.run_all();
  CHECK(f.delivered_offsets(r) == offsets{0, 5});
  f.topic->credit(r, 1);
  CHECK(f.delivered_offsets(r) == offsets{0, 5, 6});
}

TEST_CASE("a storage read that lands below a new log start resumes at the start",
          "[topics][log][retention][read]") {
  auto o = log_options(1);
  o.set_retention_ms(60'000);
  fixture f(o);
  f.cfg.tail_cache_bytes = 1;
  f.published(msgs({"o0", "o1", "o2", "o3", "o4"}), 0);
  f.clock.advance(70'000);
  f.published(msgs({"n5", "n6", "n7"}), 0);
  f.topic->on_tick(f.clock.steady_ms());
  REQUIRE(f.port.run_next(op::offset_for_time));  // the truncation to 5 is queued now
  REQUIRE(f.port.queued(op::truncate_prefix) == 1);
  // A reader asks for offset 0 before the topic knows of the new start. Storage runs the
  // truncation first, so the read finds offset 0 gone (OFFSET_OUT_OF_RANGE).
  auto& r = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
  REQUIRE(f.port.queued(op::read) == 1);
  f.port.run_all();
  CHECK(f.topic->bounds(0).start == 5);
  CHECK(f.delivered_offsets(r) == offsets{5, 6, 7});
}

TEST_CASE("on_tick runs retention about once a second of clock time",
          "[topics][log][retention][tick]") {
  auto o = log_options(2);
  o.set_retention_ms(60'000);
  fixture f(o);
  f.published(msgs({"a"}), 0);
  f.published(msgs({"b"}), 1);
  const int64_t t0 = f.clock.steady_ms();
  auto tick_at = [&](int64_t ms) {
    f.clock.advance(t0 + ms - f.clock.steady_ms());
    f.topic->on_tick(f.clock.steady_ms());
  };
  tick_at(0);
  CHECK(f.port.time_lookups.size() == 2);  // one per partition
  f.port.run_all();
  tick_at(500);
  tick_at(999);
  CHECK(f.port.time_lookups.size() == 2);
  tick_at(1000);
  CHECK(f.port.time_lookups.size() == 4);
  f.port.run_all();
  tick_at(2500);
  CHECK(f.port.time_lookups.size() == 6);
  tick_at(4000);  // the last run is still under way: no second one meanwhile
  CHECK(f.port.time_lookups.size() == 6);
  f.port.run_all();
  tick_at(4000);
  CHECK(f.port.time_lookups.size() == 8);
  f.port.run_all();
  CHECK(f.port.truncations.empty());  // nothing was old enough
}

TEST_CASE("fsync interval syncs the WAL once per interval, one sync at a time",
          "[topics][log][fsync][tick]") {
  fixture f(log_options(1, v1::FSYNC_INTERVAL));  // every 200 ms
  f.published(msgs({"a"}), 0);
  const int64_t t0 = f.clock.steady_ms();
  auto tick_at = [&](int64_t ms) {
    f.clock.advance(t0 + ms - f.clock.steady_ms());
    f.topic->on_tick(f.clock.steady_ms());
  };
  tick_at(0);
  CHECK(f.port.sync_wals == 1);
  f.port.run_all();
  tick_at(100);
  tick_at(199);
  CHECK(f.port.sync_wals == 1);
  tick_at(200);
  CHECK(f.port.sync_wals == 2);
  tick_at(400);  // the sync of 200 is still under way
  CHECK(f.port.sync_wals == 2);
  f.port.run_all();
  tick_at(400);
  CHECK(f.port.sync_wals == 3);
  // A failed sync is logged, and the next interval tries again.
  f.port.store.fail_writes_for_test(disk_full());
  f.port.run_all();
  f.port.store.fail_writes_for_test({});
  tick_at(600);
  CHECK(f.port.sync_wals == 4);
  f.port.run_all();
}

TEST_CASE("a log topic with fsync always or never never syncs the WAL on its own",
          "[topics][log][fsync][tick]") {
  auto policy = GENERATE(v1::FSYNC_ALWAYS, v1::FSYNC_NEVER);
  fixture f(log_options(1, policy));
  f.published(msgs({"a"}), 0);
  for (int i = 0; i < 5; ++i) {
    f.clock.advance(1'000);
    f.topic->on_tick(f.clock.steady_ms());
    f.port.run_all();
  }
  CHECK(f.port.sync_wals == 0);
}
