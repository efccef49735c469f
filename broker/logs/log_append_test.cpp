// Log topics, writing: offsets and partitions, group commit, failed writes, idempotent
// producers, recovery (unit tests over testing_port; see log_test_fixture.h).
#include "broker/logs/log_test_fixture.h"

// ---- offsets and partitions ----

TEST_CASE("a log topic assigns dense offsets per partition and answers once the write is done",
          "[topics][log]") {
  fixture f(log_options(2));
  auto a = f.publish(msgs({"a0", "a1", "a2"}), 0);
  CHECK_FALSE(a->answered);  // nothing is durable yet
  CHECK(f.port.queued(op::append) == 1);
  f.port.run_all();
  REQUIRE(a->answered);
  CHECK_FALSE(a->err);
  CHECK(a->ok.accepted() == 3);
  CHECK(a->ok.errors_size() == 0);
  CHECK(offsets_of(a->ok) == offsets{0, 1, 2});
  CHECK(partitions_of(a->ok) == std::vector<uint32_t>{0, 0, 0});

  auto b = f.publish(msgs({"a3", "a4"}), 0);
  auto c = f.publish(msgs({"b0"}), 1);
  f.port.run_all();
  CHECK(offsets_of(b->ok) == offsets{3, 4});
  CHECK(offsets_of(c->ok) == offsets{0});
  CHECK(partitions_of(c->ok) == std::vector<uint32_t>{1});
  CHECK(f.topic->bounds(0).next == 5);
  CHECK(f.topic->bounds(1).next == 1);
  CHECK(f.stored_bounds(0).next == 5);  // storage holds exactly what was acknowledged
  CHECK(f.topic->published() == 6);
  CHECK(f.probe.records_appended == 6);  // the logs' probe counted the durable records
  CHECK(f.probe.writes == f.port.appends.size());
  CHECK(f.probe.write_failures == 0);
}

TEST_CASE("a log topic keeps a key on one partition and spreads keyless messages round robin",
          "[topics][log]") {
  fixture f(log_options(4));
  std::map<std::string, std::set<uint32_t>> partitions_of_key;
  for (int round = 0; round < 3; ++round) {
    std::vector<keyed_message> batch;
    for (int k = 0; k < 8; ++k)
      batch.emplace_back("key-" + std::to_string(k), "v" + std::to_string(round));
    auto ok = f.published(batch);
    REQUIRE(ok.partitions_size() == 8);
    for (int i = 0; i < 8; ++i) {
      CHECK(ok.partitions(i) == ferry::names::partition_for_key(batch[i].first, 4));
      partitions_of_key[batch[i].first].insert(ok.partitions(i));
    }
  }
  std::set<uint32_t> used;
  for (const auto& [key, ps] : partitions_of_key) {
    CHECK(ps.size() == 1);
    used.insert(*ps.begin());
  }
  CHECK(used.size() > 1);  // the keys do not all hash to one partition

  auto ok = f.published(msgs({"r0", "r1", "r2", "r3", "r4", "r5", "r6", "r7"}));
  CHECK(partitions_of(ok) == std::vector<uint32_t>{0, 1, 2, 3, 0, 1, 2, 3});
  uint64_t total = 0;
  for (uint32_t p = 0; p < 4; ++p)
    total += f.topic->bounds(p).next;
  CHECK(total == 3 * 8 + 8);
}

TEST_CASE("a log topic refuses a partition it does not have and keyless idempotent publishing",
          "[topics][log]") {
  fixture f(log_options(2));
  auto a = f.publish(msgs({"x"}), 2);
  REQUIRE(a->answered);
  CHECK(a->err.code == errc::partition_not_found);
  CHECK(a->err.message.find("0..1") != std::string::npos);
  auto b = f.publish(msgs({"x"}), std::nullopt, "p1", 0);
  REQUIRE(b->answered);
  CHECK(b->err.code == errc::invalid_argument);
  CHECK(f.port.appends.empty());
}

TEST_CASE("a log topic refuses a message above max_message_bytes and writes the others",
          "[topics][log]") {
  fixture f(log_options(1));
  f.cfg.max_message_bytes = 100;
  auto ok = f.published({{"", "first"}, {"", std::string(200, 'x')}, {"", "third"}}, 0);
  CHECK(ok.accepted() == 2);
  REQUIRE(ok.errors_size() == 1);
  CHECK(ok.errors(0).index() == 1);
  CHECK(ok.errors(0).code() == v1::MESSAGE_TOO_LARGE);
  CHECK(ok.offsets(0) == 0);
  CHECK(ok.offsets(2) == 1);  // the refused message took no offset
  CHECK(f.topic->bounds(0).next == 2);
  CHECK(f.topic->published() == 3);  // messages_published counts refused ones too
  CHECK(f.probe.records_refused == 1);
}

TEST_CASE("a partition another node leads refuses publishes with the reason, others take them",
          "[topics][log][cluster]") {
  fixture f(log_options(2));
  f.topic->set_not_led_here(1, "partition 1 of topic 't' is led by node 2 at h:1");
  auto refused = f.published(msgs({"x", "y"}), 1);
  CHECK(refused.accepted() == 0);
  REQUIRE(refused.errors_size() == 2);
  CHECK(refused.errors(0).code() == v1::NOT_LEADER);
  CHECK(refused.errors(1).message() == "partition 1 of topic 't' is led by node 2 at h:1");
  CHECK(f.topic->bounds(1).next == 0);  // nothing written
  CHECK(f.probe.records_refused == 2);
  CHECK(f.published(msgs({"a"}), 0).accepted() == 1);
  f.topic->set_not_led_here(1, "");  // this node leads it now
  CHECK(f.published(msgs({"z"}), 1).accepted() == 1);
  CHECK(f.topic->bounds(1).next == 1);
}

TEST_CASE("a log topic asks storage for a synced append only when fsync is always",
          "[topics][log][fsync]") {
  auto [policy, synced] = GENERATE(table<v1::FsyncPolicy, bool>(
      {{v1::FSYNC_ALWAYS, true}, {v1::FSYNC_INTERVAL, false}, {v1::FSYNC_NEVER, false}}));
  fixture f(log_options(1, policy));
  auto a = f.publish(msgs({"a", "b"}), 0);
  REQUIRE(f.port.appends.size() == 1);
  CHECK(f.port.appends[0].sync == synced);
  f.port.run_all();
  CHECK(a->ok.accepted() == 2);
}

// ---- group commit ----

TEST_CASE("a log topic pipelines a partition's writes in order, offsets given at submit",
          "[topics][log][commit]") {
  fixture f(log_options(2));
  auto first = f.publish(msgs({"m0"}), 0);
  auto second = f.publish(msgs({"m1", "m2"}), 0);
  auto third = f.publish(msgs({"m3"}), 0);
  // Each goes out at once (the committer merges what queues into one batch), with the
  // next offsets, without waiting for the earlier writes to come back.
  REQUIRE(f.port.appends.size() == 3);
  CHECK(f.port.appends[0].first_offset == 0);
  CHECK(f.port.appends[1].first_offset == 1);
  CHECK(f.port.appends[1].records == 2);
  CHECK(f.port.appends[2].first_offset == 3);
  auto other = f.publish(msgs({"o0"}), 1);
  CHECK(f.port.appends.back().pid.partition == 1);
  CHECK(f.port.appends.back().first_offset == 0);

  REQUIRE(f.port.run_one());  // partition 0's first write lands: only its publish is answered
  REQUIRE(first->answered);
  CHECK(offsets_of(first->ok) == offsets{0});
  CHECK_FALSE(second->answered);
  f.port.run_all();
  CHECK(offsets_of(second->ok) == offsets{1, 2});
  CHECK(offsets_of(third->ok) == offsets{3});
  CHECK(offsets_of(other->ok) == offsets{0});
}

TEST_CASE("a log topic keeps at most 8 writes of a partition in flight", "[topics][log][commit]") {
  fixture f(log_options(1));
  std::vector<std::shared_ptr<publish_answer>> answers;
  for (int i = 0; i < 10; ++i)
    answers.push_back(f.publish(msgs({"m" + std::to_string(i)}), 0));
  CHECK(f.port.appends.size() == 8);  // the last two wait, and go out together
  REQUIRE(f.port.run_one());
  REQUIRE(f.port.appends.size() == 9);
  CHECK(f.port.appends[8].first_offset == 8);
  CHECK(f.port.appends[8].records == 2);
  f.port.run_all();
  for (size_t i = 0; i < answers.size(); ++i)
    CHECK(offsets_of(answers[i]->ok) == offsets{i});
}

// ---- failed writes and a full disk ----

TEST_CASE("a failed write fails its messages and those queued behind it, then offsets are reused",
          "[topics][log][failure]") {
  fixture f(log_options(1));
  CHECK(offsets_of(f.published(msgs({"a", "b"}), 0)) == offsets{0, 1});
  f.port.fail_next_append({make_error_code(errc::storage_error), "injected failure"});
  auto lost = f.publish(msgs({"c", "d"}), 0);
  auto behind = f.publish(msgs({"e"}), 0);  // already submitted behind the failing write
  REQUIRE(f.port.run_one());
  REQUIRE(lost->answered);
  CHECK_FALSE(lost->err);
  CHECK(lost->ok.accepted() == 0);
  REQUIRE(lost->ok.errors_size() == 2);
  for (int i = 0; i < 2; ++i) {
    CHECK(lost->ok.errors(i).index() == static_cast<uint32_t>(i));
    CHECK(lost->ok.errors(i).code() == v1::STORAGE_ERROR);
    CHECK(lost->ok.errors(i).message() == "injected failure");
  }
  CHECK(f.topic->bounds(0).next == 2);
  auto later = f.publish(msgs({"f"}), 0);  // held until the doomed write came back
  CHECK(f.port.appends.size() == 3);
  f.port.run_all();
  // Storage refused the write queued behind the failure (it would have left a gap).
  REQUIRE(behind->ok.errors_size() == 1);
  CHECK(behind->ok.errors(0).code() == v1::STORAGE_ERROR);
  CHECK(behind->ok.errors(0).message().find("injected failure") != std::string::npos);
  REQUIRE(f.port.appends.size() == 4);
  CHECK(f.port.appends[3].first_offset == 2);  // no gap
  CHECK(offsets_of(later->ok) == offsets{2});
  CHECK(f.probe.write_failures == 2);  // the injected one and the one refused behind it
  auto& r = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
  f.port.run_all();
  CHECK(f.delivered_offsets(r) == offsets{0, 1, 2});
  CHECK(f.probe.records_read == 3);
  CHECK(f.delivered_payloads(r) == payloads{"a", "b", "f"});
}

TEST_CASE(
    "a log topic on a full disk answers DISK_FULL, keeps what it acknowledged and writes again "
    "once space is back",
    "[topics][log][failure]") {
  fixture f(log_options(2));
  f.published(msgs({"a", "b", "c"}), 0);
  f.port.store.fail_writes_for_test(disk_full());
  auto full0 = f.publish(msgs({"x", "y"}), 0);
  auto full1 = f.publish(msgs({"z"}), 1);
  f.port.run_all();
  for (const auto& a : {full0, full1}) {
    REQUIRE(a->answered);
    CHECK_FALSE(a->err);  // the frame was fine: every message says what happened to it
    CHECK(a->ok.accepted() == 0);
    CHECK(a->ok.errors_size() == a->ok.offsets_size());
    for (const auto& e : a->ok.errors()) {
      CHECK(e.code() == v1::DISK_FULL);
      CHECK(e.message() == "no space left on device");
    }
  }
  CHECK(f.topic->bounds(0).next == 3);
  CHECK(f.topic->bounds(1).next == 0);
  // Acknowledged records are still readable, from the tail cache and from storage.
  auto& cached = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
  f.cfg.tail_cache_bytes = 0;
  f.reopen(log_options(2));
  REQUIRE_FALSE(f.topic->recover(f.port.store));
  auto& stored = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
  f.port.run_all();
  CHECK(f.delivered_payloads(cached) == payloads{"a", "b", "c"});
  CHECK(f.delivered_payloads(stored) == payloads{"a", "b", "c"});
  CHECK(f.delivered_offsets(stored) == offsets{0, 1, 2});

  f.port.store.fail_writes_for_test({});
  auto ok = f.published(msgs({"d"}), 0);
  CHECK(ok.accepted() == 1);
  CHECK(offsets_of(ok) == offsets{3});
  CHECK(f.published(msgs({"w"}), 1).offsets(0) == 0);
  CHECK(f.delivered_payloads(stored) == payloads{"a", "b", "c", "d"});
}

// ---- idempotent producers ----

TEST_CASE("an idempotent producer's retried batch gets its original offsets and is not rewritten",
          "[topics][log][idempotent]") {
  fixture f(log_options(2));
  CHECK(offsets_of(f.published(msgs({"a", "b"}), 1, "p1", 0)) == offsets{0, 1});
  CHECK(offsets_of(f.published(msgs({"x"}), 1)) == offsets{2});  // another writer in between
  const size_t writes = f.port.appends.size();
  auto retry = f.publish(msgs({"a", "b"}), 1, "p1", 0);
  REQUIRE(retry->answered);  // known duplicates are answered at once
  CHECK(retry->ok.accepted() == 0);
  CHECK(retry->ok.duplicates() == 2);
  CHECK(retry->ok.errors_size() == 0);
  CHECK(offsets_of(retry->ok) == offsets{0, 1});
  CHECK(f.port.appends.size() == writes);

  auto mixed = f.publish(msgs({"b", "c"}), 1, "p1", 1);  // one duplicate, one new
  f.port.run_all();
  CHECK(mixed->ok.duplicates() == 1);
  CHECK(mixed->ok.accepted() == 1);
  CHECK(offsets_of(mixed->ok) == offsets{1, 3});
  CHECK(f.topic->bounds(1).next == 4);
  CHECK(f.topic->published() == 7);  // duplicates count in messages_published too
}

TEST_CASE("a retry of a batch still being written waits for the original write's offsets",
          "[topics][log][idempotent]") {
  fixture f(log_options(1));
  SECTION("the original is in flight") {
    auto original = f.publish(msgs({"a", "b"}), 0, "p1", 0);
    auto retry = f.publish(msgs({"a", "b"}), 0, "p1", 0);
    CHECK_FALSE(retry->answered);
    CHECK(f.port.appends.size() == 1);  // not written again
    f.port.run_all();
    REQUIRE(retry->answered);
    CHECK(retry->ok.duplicates() == 2);
    CHECK(retry->ok.accepted() == 0);
    CHECK(offsets_of(retry->ok) == offsets_of(original->ok));
    CHECK(offsets_of(retry->ok) == offsets{0, 1});
  }
  SECTION("the original waits behind another write") {
    auto other = f.publish(msgs({"x"}), 0);
    auto original = f.publish(msgs({"a"}), 0, "p1", 0);
    auto retry = f.publish(msgs({"a"}), 0, "p1", 0);
    REQUIRE(f.port.run_one());  // "x"; the original is submitted now
    CHECK(other->answered);
    CHECK_FALSE(original->answered);
    CHECK_FALSE(retry->answered);
    REQUIRE(f.port.run_one());
    REQUIRE(retry->answered);
    CHECK(offsets_of(retry->ok) == offsets{1});
    CHECK(retry->ok.duplicates() == 1);
  }
  CHECK(f.port.queued() == 0);
}

TEST_CASE("an idempotent producer that skips a sequence gets SEQUENCE_GAP",
          "[topics][log][idempotent]") {
  fixture f(log_options(1));
  f.published(msgs({"a", "b"}), 0, "p1", 0);
  auto gap = f.publish(msgs({"e"}), 0, "p1", 5);
  REQUIRE(gap->answered);
  CHECK(gap->ok.accepted() == 0);
  REQUIRE(gap->ok.errors_size() == 1);
  CHECK(gap->ok.errors(0).code() == v1::SEQUENCE_GAP);
  CHECK(gap->ok.errors(0).message().find("expects 2") != std::string::npos);
  CHECK(f.port.queued() == 0);
  CHECK(offsets_of(f.published(msgs({"c"}), 0, "p1", 2)) == offsets{2});
}

TEST_CASE("a failed write rolls the producer's sequences back, so its retry is accepted",
          "[topics][log][idempotent][failure]") {
  fixture f(log_options(1));
  f.published(msgs({"a"}), 0, "p1", 0);
  f.port.fail_next_append(disk_full());
  auto lost = f.publish(msgs({"b", "c"}), 0, "p1", 1);
  auto early_retry = f.publish(msgs({"b", "c"}), 0, "p1", 1);  // while the original is written
  f.port.run_all();
  CHECK(error_codes(lost->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL, v1::DISK_FULL});
  REQUIRE(early_retry->answered);  // its original failed: so did it
  CHECK(early_retry->ok.duplicates() == 0);
  CHECK(error_codes(early_retry->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL, v1::DISK_FULL});

  auto retry = f.publish(msgs({"b", "c"}), 0, "p1", 1);
  f.port.run_all();
  CHECK(retry->ok.accepted() == 2);
  CHECK(retry->ok.duplicates() == 0);
  CHECK(offsets_of(retry->ok) == offsets{1, 2});
  auto again = f.publish(msgs({"b", "c"}), 0, "p1", 1);
  REQUIRE(again->answered);
  CHECK(again->ok.duplicates() == 2);
  CHECK(offsets_of(again->ok) == offsets{1, 2});
}

TEST_CASE("a failed write also fails the producer's later messages behind it",
          "[topics][log][idempotent][failure]") {
  fixture f(log_options(1));
  f.port.fail_next_append(disk_full());
  auto lost = f.publish(msgs({"a"}), 0, "p1", 0);
  auto behind = f.publish(msgs({"b"}), 0, "p1", 1);  // submitted behind it
  auto retry_of_behind = f.publish(msgs({"b"}), 0, "p1", 1);
  auto bystander = f.publish(msgs({"x"}), 0);  // another writer, also behind it
  f.port.run_all();
  CHECK(error_codes(lost->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  // Sequence 1 must not be written without sequence 0 before it.
  REQUIRE(behind->answered);
  CHECK(behind->ok.accepted() == 0);
  CHECK(error_codes(behind->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  REQUIRE(retry_of_behind->answered);
  CHECK(retry_of_behind->ok.duplicates() == 0);
  CHECK(error_codes(retry_of_behind->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  CHECK(error_codes(bystander->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});

  // The producer starts again from its first lost sequence: each message lands once.
  auto retry = f.publish(msgs({"a", "b"}), 0, "p1", 0);
  f.port.run_all();
  CHECK(retry->ok.accepted() == 2);
  CHECK(offsets_of(retry->ok) == offsets{0, 1});
  auto& r = f.reader(100, {start_at(0, v1::Position::EARLIEST)});
  f.port.run_all();
  CHECK(f.delivered_payloads(r) == payloads{"a", "b"});
}

TEST_CASE("other producers whose writes were behind a failed one retry and land once",
          "[topics][log][idempotent][failure]") {
  fixture f(log_options(1));
  f.port.fail_next_append(disk_full());
  auto lost = f.publish(msgs({"p0"}), 0, "p", 0);
  auto other = f.publish(msgs({"q0"}), 0, "q", 0);  // submitted behind the failing write
  auto other_retry = f.publish(msgs({"q0"}), 0, "q", 0);
  f.port.run_all();
  CHECK(error_codes(lost->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  CHECK(error_codes(other->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  CHECK(error_codes(other_retry->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  auto again = f.publish(msgs({"q0"}), 0, "q", 0);  // q's sequence 0 was rolled back
  f.port.run_all();
  CHECK(again->ok.accepted() == 1);
  CHECK(offsets_of(again->ok) == offsets{0});
}

TEST_CASE("a failed write fails the producer's later batches even beyond recent_batches",
          "[topics][log][idempotent][failure]") {
  fixture f(log_options(1));
  f.cfg.recent_batches = 2;
  f.port.fail_next_append(disk_full());
  auto lost = f.publish(msgs({"p0"}), 0, "p", 0);
  std::vector<std::shared_ptr<publish_answer>> later, others;
  for (uint64_t seq = 1; seq <= 4; ++seq) {  // interleaved: each is a batch of its own
    later.push_back(f.publish(msgs({"p" + std::to_string(seq)}), 0, "p", seq));
    others.push_back(f.publish(msgs({"q" + std::to_string(seq)}), 0, "q", seq));
  }
  f.port.run_all();
  CHECK(error_codes(lost->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  for (const auto& a : later) {
    REQUIRE(a->answered);
    CHECK(a->ok.accepted() == 0);
    CHECK(error_codes(a->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  }
  for (const auto& a : others)  // submitted behind the failure too
    CHECK(error_codes(a->ok) == std::vector<v1::ErrorCode>{v1::DISK_FULL});
  auto retry = f.publish(msgs({"p0", "p1", "p2", "p3", "p4"}), 0, "p", 0);
  f.port.run_all();
  CHECK(retry->ok.accepted() == 5);
  CHECK(offsets_of(retry->ok) == offsets{0, 1, 2, 3, 4});
}

TEST_CASE("a recovered log topic keeps its offsets and still recognises a retried batch",
          "[topics][log][idempotent][recovery]") {
  fixture f(log_options(2));
  f.published(msgs({"a", "b", "c"}), 1, "p1", 0);
  f.published(msgs({"x"}), 1);
  f.published(msgs({"q"}), 0, "p2", 10);
  f.reopen(log_options(2));
  REQUIRE_FALSE(f.topic->recover(f.port.store));
  CHECK(f.topic->bounds(1).start == 0);
  CHECK(f.topic->bounds(1).next == 4);
  CHECK(f.topic->bounds(0).next == 1);

  auto retry = f.publish(msgs({"a", "b", "c"}), 1, "p1", 0);
  REQUIRE(retry->answered);
  CHECK(retry->ok.duplicates() == 3);
  CHECK(offsets_of(retry->ok) == offsets{0, 1, 2});
  auto retry2 = f.publish(msgs({"q"}), 0, "p2", 10);
  REQUIRE(retry2->answered);
  CHECK(offsets_of(retry2->ok) == offsets{0});
  CHECK(retry2->ok.duplicates() == 1);
  CHECK(f.port.queued() == 0);

  CHECK(offsets_of(f.published(msgs({"d"}), 1, "p1", 3)) == offsets{4});
  auto gap = f.publish(msgs({"z"}), 1, "p1", 9);
  REQUIRE(gap->answered);
  CHECK(error_codes(gap->ok) == std::vector<v1::ErrorCode>{v1::SEQUENCE_GAP});
  auto& r = f.reader(100, {start_at(1, v1::Position::EARLIEST)});
  f.port.run_all();
  CHECK(f.delivered_payloads(r) == payloads{"a", "b", "c", "x", "d"});
}
