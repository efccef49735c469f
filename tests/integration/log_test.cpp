// Log topics against a real ferryd, through raw frames: partitions and offsets, reads from
// positions with credit, idempotent producers, restarts, bad input.
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/log_helpers.h"
#include "tests/support/raw_client.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;

TEST_CASE("log topics assign dense offsets per partition and keep keys on one partition", "[log]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(create_log_topic(c, "events", 3).has_topic_info());
  std::map<std::string, std::set<uint32_t>> partitions_of_key;
  std::map<uint32_t, std::vector<uint64_t>> offsets;
  for (int round = 0; round < 5; ++round) {
    std::vector<std::pair<std::string, std::string>> msgs;
    for (int k = 0; k < 6; ++k)
      msgs.push_back({"key-" + std::to_string(k), "v" + std::to_string(round)});
    auto r = c.request(publish_frame("events", msgs));
    REQUIRE(r.has_publish_ok());
    const auto& ok = r.publish_ok();
    CHECK(ok.accepted() == 6);
    REQUIRE(ok.offsets_size() == 6);
    for (int i = 0; i < 6; ++i) {
      partitions_of_key[msgs[i].first].insert(ok.partitions(i));
      offsets[ok.partitions(i)].push_back(ok.offsets(i));
    }
  }
  for (auto& [key, ps] : partitions_of_key)
    CHECK(ps.size() == 1);
  for (auto& [p, offs] : offsets) {
    for (size_t i = 0; i < offs.size(); ++i)
      CHECK(offs[i] == i);  // dense from 0, in order
  }
  auto info = c.request(describe_frame("events")).topic_info();
  CHECK(info.kind() == v1::LOG);
  REQUIRE(info.partitions_size() == 3);
  uint64_t total = 0;
  for (const auto& p : info.partitions())
    total += p.log_end() - p.log_start();
  CHECK(total == 30);
}

TEST_CASE("a reader gets a partition from any position, in order, within its credit", "[log]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(create_log_topic(c, "l", 1).has_topic_info());
  for (int i = 0; i < 10; ++i)
    REQUIRE(c.request(publish_frame("l", {{"", "m" + std::to_string(i)}})).has_publish_ok());

  raw_client r(b.host(), b.port());
  r.handshake();
  auto ok = r.request(consume_frame("l", 0, v1::Position::OFFSET, 4, 3));
  REQUIRE(ok.has_consume_log_ok());
  REQUIRE(ok.consume_log_ok().assigned_size() == 1);
  CHECK(ok.consume_log_ok().assigned(0).next_offset() == 4);
  auto got = read_records(r, 3);
  REQUIRE(got.size() == 3);
  CHECK(got[0].offset == 4);
  CHECK(got[0].payload == "m4");
  CHECK(got[2].offset == 6);
  CHECK(read_records(r, 1, std::chrono::milliseconds(200)).empty());  // credit used up
  send_credit(r, ok.consume_log_ok().consumer_id(), 10);
  got = read_records(r, 3);
  REQUIRE(got.size() == 3);
  CHECK(got[0].offset == 7);
  CHECK(got[2].offset == 9);
  // New records reach a reader at the tail.
  send_credit(r, ok.consume_log_ok().consumer_id(), 3);
  REQUIRE(c.request(publish_frame("l", {{"", "m10"}})).has_publish_ok());
  got = read_records(r, 1);
  REQUIRE(got.size() == 1);
  CHECK(got[0].offset == 10);
  CHECK(got[0].payload == "m10");
}

TEST_CASE("positions: earliest, latest, out of range, unknown partition, by time", "[log]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(create_log_topic(c, "l", 2).has_topic_info());
  for (int i = 0; i < 5; ++i)
    REQUIRE(c.request(publish_frame("l", {{"", "a"}}, 0)).has_publish_ok());
  auto mid = c.request(publish_frame("l", {{"", "b"}}, 0));
  int64_t t_mid = 0;
  {
    raw_client r(b.host(), b.port());
    r.handshake();
    auto ok = r.request(consume_frame("l", 0, v1::Position::EARLIEST, 0, 100));
    auto recs = read_records(r, 6);
    REQUIRE(recs.size() == 6);
    t_mid = recs[5].timestamp_ms;
    CHECK(recs[5].offset == mid.publish_ok().offsets(0));
  }
  raw_client r(b.host(), b.port());
  r.handshake();
  auto latest = r.request(consume_frame("l", 0, v1::Position::LATEST, 0, 100));
  REQUIRE(latest.has_consume_log_ok());
  CHECK(latest.consume_log_ok().assigned(0).next_offset() == 6);
  auto bad = r.request(consume_frame("l", 0, v1::Position::OFFSET, 7, 100));
  REQUIRE(bad.has_error());
  CHECK(bad.error().code() == v1::OFFSET_OUT_OF_RANGE);
  CHECK(bad.error().message().find("[0, 6]") != std::string::npos);
  bad = r.request(consume_frame("l", 5, v1::Position::EARLIEST, 0, 100));
  CHECK(bad.error().code() == v1::PARTITION_NOT_FOUND);
  auto by_time = r.request(consume_frame("l", 0, v1::Position::TIME, t_mid, 100));
  REQUIRE(by_time.has_consume_log_ok());
  CHECK(by_time.consume_log_ok().assigned(0).next_offset() <= 5);  // at or before "b"
  auto unknown = r.request(consume_frame("nope", 0, v1::Position::EARLIEST, 0, 1));
  CHECK(unknown.error().code() == v1::TOPIC_NOT_FOUND);
  auto pub = c.request(publish_frame("l", {{"", "x"}}, 9));
  CHECK(pub.error().code() == v1::PARTITION_NOT_FOUND);
}

TEST_CASE("an idempotent producer's retried batch is not written twice", "[log][idempotent]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(create_log_topic(c, "l", 2).has_topic_info());
  auto first = c.request(publish_frame("l", {{"", "a"}, {"", "b"}}, 1, "p1", 0));
  REQUIRE(first.publish_ok().accepted() == 2);
  auto other = c.request(publish_frame("l", {{"", "x"}}, 1));  // another writer in between
  auto retry = c.request(publish_frame("l", {{"", "a"}, {"", "b"}}, 1, "p1", 0));
  REQUIRE(retry.has_publish_ok());
  CHECK(retry.publish_ok().accepted() == 0);
  CHECK(retry.publish_ok().duplicates() == 2);
  CHECK(retry.publish_ok().offsets(0) == first.publish_ok().offsets(0));  // the original offsets
  CHECK(retry.publish_ok().offsets(1) == first.publish_ok().offsets(1));
  auto next = c.request(publish_frame("l", {{"", "c"}}, 1, "p1", 2));
  CHECK(next.publish_ok().accepted() == 1);
  auto gap = c.request(publish_frame("l", {{"", "e"}}, 1, "p1", 5));
  REQUIRE(gap.publish_ok().errors_size() == 1);
  CHECK(gap.publish_ok().errors(0).code() == v1::SEQUENCE_GAP);
  auto unpartitioned = c.request(publish_frame("l", {{"", "a"}}, -1, "p2", 0));
  CHECK(unpartitioned.error().code() == v1::INVALID_ARGUMENT);
  auto info = c.request(describe_frame("l")).topic_info();
  CHECK(info.partitions(1).log_end() == 4);  // a, b, x, c
  (void)other;
}

TEST_CASE("records, offsets and producer state survive a restart", "[log][restart]") {
  broker_process b;
  {
    raw_client c(b.host(), b.port());
    c.handshake();
    REQUIRE(create_log_topic(c, "l", 1).has_topic_info());
    REQUIRE(c.request(publish_frame("l", {{"k", "one"}, {"k", "two"}}, 0, "p", 0))
                .publish_ok()
                .accepted() == 2);
  }
  REQUIRE(b.stop() == 0);
  b.restart();
  raw_client c(b.host(), b.port());
  c.handshake();
  auto retry = c.request(publish_frame("l", {{"k", "one"}, {"k", "two"}}, 0, "p", 0));
  CHECK(retry.publish_ok().duplicates() == 2);
  CHECK(retry.publish_ok().offsets(1) == 1);
  auto more = c.request(publish_frame("l", {{"k", "three"}}, 0, "p", 2));
  CHECK(more.publish_ok().offsets(0) == 2);
  auto ok = c.request(consume_frame("l", 0, v1::Position::EARLIEST, 0, 10));
  auto recs = read_records(c, 3);
  REQUIRE(recs.size() == 3);
  CHECK(recs[0].payload == "one");
  CHECK(recs[1].payload == "two");
  CHECK(recs[2].payload == "three");
  CHECK(recs[2].offset == 2);
}

TEST_CASE("retention by bytes removes the oldest records in bulk", "[log][retention]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  v1::Frame f;
  auto* ct = f.mutable_create_topic();
  ct->set_name("small");
  ct->set_kind(v1::LOG);
  ct->mutable_options()->set_retention_bytes(20 * 1024);
  REQUIRE(c.request(f).has_topic_info());
  for (int i = 0; i < 100; ++i)
    REQUIRE(
        c.request(publish_frame("small", {{"", std::string(1000, 'x')}})).publish_ok().accepted() ==
        1);
  // Retention runs about once a second.
  uint64_t start = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (start < 75 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    start = c.request(describe_frame("small")).topic_info().partitions(0).log_start();
  }
  CHECK(start >= 75);  // ~20 records of ~1 KiB remain
  CHECK(start <= 85);
  auto old = c.request(consume_frame("small", 0, v1::Position::OFFSET, 10, 10));
  CHECK(old.error().code() == v1::OFFSET_OUT_OF_RANGE);
  auto ok = c.request(consume_frame("small", 0, v1::Position::EARLIEST, 0, 1));
  auto recs = read_records(c, 1);
  REQUIRE(recs.size() == 1);
  CHECK(recs[0].offset == start);
}

TEST_CASE("a reader that returns credit promptly is not cut off when records are large",
          "[log][slow]") {
  // Credit counts records: 10,000 of 16,000 bytes would be 160 MB queued for the socket.
  // The broker stops pushing while the connection's unsent output is above its pause mark.
  broker_process b({"--set", "limits.max_outbound_bytes=8388608"});
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(create_log_topic(c, "big", 1, v1::FSYNC_NEVER).has_topic_info());
  constexpr int batches = 40, per_batch = 50;  // 2,000 records, 32 MB
  for (int i = 0; i < batches; ++i) {
    std::vector<std::pair<std::string, std::string>> msgs(per_batch, {"", std::string(16000, 'r')});
    REQUIRE(c.request(publish_frame("big", msgs, 0)).publish_ok().accepted() == per_batch);
  }
  raw_client r(b.host(), b.port());
  r.handshake();
  auto ok = r.request(consume_frame("big", 0, v1::Position::EARLIEST, 0, 0));  // default credit
  REQUIRE(ok.has_consume_log_ok());
  const uint64_t consumer = ok.consume_log_ok().consumer_id();
  uint64_t next = 0;
  while (next < batches * per_batch) {
    auto f = r.read_frame();
    REQUIRE(f);
    REQUIRE_FALSE(f->has_error());
    if (!f->has_deliver()) continue;
    for (const auto& d : f->deliver().deliveries())
      REQUIRE(d.offset() == next++);
    send_credit(r, consumer, static_cast<uint32_t>(f->deliver().deliveries_size()));
  }
  CHECK(next == batches * per_batch);
}
