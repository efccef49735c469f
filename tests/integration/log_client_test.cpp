// Log topics through libferry against a real ferryd: the producer (routing, offsets,
// idempotence across restarts) and manual-assignment readers (positions, seek, credit,
// resume after a restart).
#include <atomic>
#include <mutex>
#include <set>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <catch2/catch.hpp>

#include "ferry/client/client.h"
#include "proto/codec/names.h"
#include "tests/integration/log_client_helpers.h"

using namespace ferry::testing;
namespace fc = ferry::client;
namespace v1 = ferry::v1;
using ferry::errc;

TEST_CASE("the producer keeps offsets dense per partition and keys on their partition",
          "[log-client][producer]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "events", 3);
  std::map<uint32_t, std::vector<uint64_t>> offsets;
  for (int round = 0; round < 4; ++round) {
    std::vector<fc::message> msgs;
    for (int k = 0; k < 6; ++k) {
      std::string key = "key-";
      key.append(std::to_string(k));
      msgs.push_back(keyed(key, "v" + std::to_string(round)));
    }
    auto r = c->publish_batch("events", msgs);
    REQUIRE(r);
    CHECK(r->accepted == 6);
    REQUIRE(r->partitions.size() == 6);
    for (int k = 0; k < 6; ++k) {
      CHECK(r->partitions[k] == ferry::names::partition_for_key(msgs[k].key, 3));
      offsets[r->partitions[k]].push_back(r->offsets[k]);
    }
  }
  // Without a key: round robin over the partitions.
  std::set<uint32_t> used;
  for (int i = 0; i < 3; ++i) {
    auto r = c->publish("events", fc::message("no key"));
    REQUIRE(r);
    REQUIRE(r->has_offset);
    used.insert(r->partition);
    offsets[r->partition].push_back(r->offset);
  }
  CHECK(used.size() == 3);
  for (auto& [p, offs] : offsets) {
    std::sort(offs.begin(), offs.end());
    for (size_t i = 0; i < offs.size(); ++i)
      CHECK(offs[i] == i);
  }
  auto info = c->describe_topic("events");
  REQUIRE(info);
  uint64_t total = 0;
  for (const auto& p : info->partitions())
    total += p.log_end() - p.log_start();
  CHECK(total == 27);
}

TEST_CASE("an explicit partition wins, and is refused where it does not exist",
          "[log-client][producer]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 3);
  create_topic(*c, "mem");
  fc::message m = keyed("k", "to two");
  m.partition = 2;
  auto r = c->publish("l", m);
  REQUIRE(r);
  CHECK(r->partition == 2);
  CHECK(r->offset == 0);
  m.partition = 7;
  r = c->publish("l", m);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::partition_not_found);
  m.partition = 0;
  r = c->publish("mem", m);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::invalid_argument);
  r = c->publish("missing", fc::message("x"));
  REQUIRE_FALSE(r);
  CHECK(r.err().code == errc::topic_not_found);
  // Memory topics are unchanged: no partition, no offset.
  auto mr = c->publish("mem", fc::message("hello"));
  REQUIRE(mr);
  CHECK_FALSE(mr->has_offset);
}

TEST_CASE("a topic re-created in another shape is described again after a refusal",
          "[log-client][producer]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "t", 2);
  REQUIRE(c->publish("t", keyed("k", "one")));
  v1::DeleteTopic del;
  del.set_name("t");
  REQUIRE(c->delete_topic(del));
  create_log_topic(*c, "t", 4);
  fc::message m("to three");
  m.partition = 3;
  auto r = c->publish("t", m);
  REQUIRE_FALSE(r);  // the client still knows two partitions...
  CHECK(r.err().code == errc::partition_not_found);
  r = c->publish("t", m);  // ...and has asked again
  REQUIRE(r);
  CHECK(r->partition == 3);
  CHECK(r->offset == 0);
  REQUIRE(c->delete_topic(del));
  create_topic(*c, "t");
  auto refused = c->publish("t", fc::message("x"));  // sent for a log topic
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::invalid_argument);
  auto ok = c->publish("t", fc::message("y"));
  REQUIRE(ok);
  CHECK_FALSE(ok->has_offset);
}

TEST_CASE("linger gathers messages published over time into one frame", "[log-client][producer]") {
  broker_process b;
  auto opts = options_for(b);
  opts.linger = 200ms;
  auto r = fc::blocking_client::connect(opts);
  REQUIRE(r);
  auto& c = *r.value();
  create_log_topic(c, "l", 1);
  std::mutex m;
  std::vector<std::chrono::steady_clock::time_point> confirmed;
  auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < 5; ++i) {
    c.publish_async("l", fc::message("m" + std::to_string(i)),
                    [&](const ferry::error& e, const fc::publish_result& res) {
                      std::lock_guard lock(m);
                      if (!e && res.has_offset)
                        confirmed.push_back(std::chrono::steady_clock::now());
                    });
    std::this_thread::sleep_for(10ms);
  }
  auto deadline = start + 5s;
  while (std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(10ms);
    std::lock_guard lock(m);
    if (confirmed.size() == 5) break;
  }
  std::lock_guard lock(m);
  REQUIRE(confirmed.size() == 5);
  // The first message waited for the others: nothing was confirmed before the linger.
  CHECK(confirmed.front() - start >= 190ms);
  CHECK(confirmed.back() - confirmed.front() < 100ms);
}

TEST_CASE("records published through libferry survive a broker restart",
          "[log-client][producer][restart]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 2);
  for (int i = 0; i < 10; ++i)
    REQUIRE(c->publish("l", keyed("k" + std::to_string(i % 2), "m" + std::to_string(i))));
  REQUIRE(b.stop() == 0);
  b.restart();
  auto r = c->publish("l", keyed("k0", "after"));  // waits for the reconnect
  REQUIRE(r);
  fc::consume_options o;
  o.topic = "l";  // every partition, from the earliest
  auto reader = consume(*c, o);
  auto got = take(reader, 11);
  std::map<uint32_t, uint64_t> next;
  std::set<std::string> payloads;
  for (const auto& rec : got) {
    CHECK(rec.offset == next[rec.partition]++);
    payloads.insert(rec.payload);
  }
  CHECK(payloads.size() == 11);
  CHECK(payloads.count("after") == 1);
}

TEST_CASE("an idempotent producer's resends across a broker crash leave no duplicate",
          "[log-client][producer][idempotent][restart]") {
  broker_process b;
  auto opts = options_for(b);
  opts.max_batch_bytes = 512;  // many small frames, several in flight per partition
  auto r = fc::blocking_client::connect(opts);
  REQUIRE(r);
  auto& c = *r.value();
  create_log_topic(c, "l", 3);
  const size_t total = 3000;
  confirms done;
  for (size_t i = 0; i < total; ++i) {
    if (i == total / 2) {
      b.kill_hard();  // unconfirmed frames are resent, unchanged, after the reconnect
      b.restart();
    }
    std::string key = "k";
    key.append(std::to_string(i % 7));
    c.publish_async("l", keyed(key, std::to_string(i)), done.callback(i));
  }
  REQUIRE(done.wait_for(total, 30s));
  INFO((done.errors.empty() ? std::string() : done.errors.front()));
  REQUIRE(done.failed == 0);
  // Every message exactly once, at its confirmed offset, in publish order per partition.
  std::map<uint32_t, std::vector<std::pair<uint64_t, size_t>>> by_partition;
  for (const auto& [i, res] : done.results)
    by_partition[res.partition].emplace_back(res.offset, i);
  fc::consume_options o;
  o.topic = "l";
  auto reader = consume(c, o);
  auto got = take(reader, total, 10s);
  CHECK(reader.next(300ms) == std::nullopt);  // nothing more: no duplicate
  std::map<uint32_t, std::vector<record>> read;
  for (auto& rec : got)
    read[rec.partition].push_back(rec);
  for (auto& [p, confirmed] : by_partition) {
    std::sort(confirmed.begin(), confirmed.end());
    REQUIRE(read[p].size() == confirmed.size());
    for (size_t k = 0; k < confirmed.size(); ++k) {
      CHECK(read[p][k].offset == confirmed[k].first);
      CHECK(read[p][k].payload == std::to_string(confirmed[k].second));
      if (k > 0) CHECK(confirmed[k].second > confirmed[k - 1].second);  // publish order
    }
  }
}

TEST_CASE("a reader starts at the earliest, latest, an offset or a time",
          "[log-client][consumer]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 1);
  for (int i = 0; i < 10; ++i)
    REQUIRE(c->publish("l", fc::message("m" + std::to_string(i))));
  auto from_earliest = read_partition(*c, "l", 0, fc::position::earliest());
  auto first = from_earliest.next(5s);
  REQUIRE(first);
  CHECK(first->offset() == 0);
  CHECK(first->payload() == "m0");
  auto six = take(from_earliest, 6);
  int64_t t6 = 0;
  {
    auto seventh = from_earliest.next(5s);
    REQUIRE(seventh);
    CHECK(seventh->offset() == 7);
    t6 = seventh->timestamp_ms();
  }
  auto from_offset = read_partition(*c, "l", 0, fc::position::offset(4));
  CHECK(take(from_offset, 1)[0].payload == "m4");
  auto from_time = read_partition(*c, "l", 0, fc::position::time(t6));
  auto at = take(from_time, 1)[0];
  CHECK(at.offset <= 7);  // the first record at or after the time
  auto from_latest = read_partition(*c, "l", 0, fc::position::latest());
  CHECK(from_latest.next(200ms) == std::nullopt);
  REQUIRE(c->publish("l", fc::message("new")));
  auto fresh = take(from_latest, 1)[0];
  CHECK(fresh.offset == 10);
  CHECK(fresh.payload == "new");
  fc::consume_options bad;
  bad.topic = "l";
  bad.partitions.emplace_back(0, fc::position::offset(99));
  auto refused = c->consume(bad);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == errc::offset_out_of_range);
  bad.topic = "missing";
  CHECK(c->consume(bad).err().code == errc::topic_not_found);
}

TEST_CASE("seek moves a reader back and forth and drops what came from before",
          "[log-client][consumer][seek]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 2);
  for (int i = 0; i < 20; ++i) {
    fc::message m("m" + std::to_string(i));
    m.partition = 1;
    REQUIRE(c->publish("l", m));
  }
  auto reader = read_partition(*c, "l", 1, fc::position::earliest(), 5);
  auto got = take(reader, 3);
  CHECK(got[2].offset == 2);
  auto at = reader.seek(1, fc::position::offset(1));  // back
  REQUIRE(at);
  CHECK(at.value() == 1);
  got = take(reader, 3);
  CHECK(got[0].offset == 1);
  CHECK(got[2].offset == 3);
  at = reader.seek(1, fc::position::offset(15));  // forward
  REQUIRE(at);
  got = take(reader, 5);
  CHECK(got[0].offset == 15);
  CHECK(got[4].offset == 19);
  CHECK(reader.next(200ms) == std::nullopt);
  at = reader.seek(1, fc::position::earliest());
  REQUIRE(at);
  CHECK(at.value() == 0);
  CHECK(take(reader, 1)[0].payload == "m0");
  at = reader.seek(1, fc::position::offset(25));
  REQUIRE_FALSE(at);
  CHECK(at.err().code == errc::offset_out_of_range);
  at = reader.seek(0, fc::position::earliest());  // not a partition of this reader
  REQUIRE_FALSE(at);
  CHECK(at.err().code == errc::partition_not_found);
  CHECK(take(reader, 1)[0].offset == 1);  // the failed seeks moved nothing
}

namespace {

// Reads `count` records of partition 0 of `topic` through the async client with a window
// of `credit` and a slow handler; the offsets in the order they were handed over (empty
// when the reader could not be opened).
std::vector<uint64_t> read_slowly(const broker_process& b, const std::string& topic,
                                  uint32_t credit, size_t count) {
  boost::asio::io_context ioc;
  fc::client c(ioc.get_executor(), options_for(b));
  std::vector<uint64_t> seen;
  fc::log_consumer reader;
  boost::asio::steady_timer guard(ioc, 10s);  // a stall fails the test instead of hanging
  guard.async_wait([&](boost::system::error_code ec) {
    if (!ec) c.close();
  });
  auto stop = [&] {
    c.close();
    guard.cancel();
  };
  c.async_connect([&](ferry::error e) {
    if (e) return stop();
    fc::consume_options o;
    o.topic = topic;
    o.partitions.emplace_back(0, fc::position::earliest());
    o.credit = credit;
    c.async_consume(
        o,
        [&](const fc::delivery& d) {
          seen.push_back(d.offset());
          std::this_thread::sleep_for(1ms);  // slow
          if (seen.size() == count) stop();
        },
        [&](ferry::error err, fc::log_consumer lc) {
          if (err) stop();
          reader = std::move(lc);
        });
  });
  ioc.run_for(15s);  // returns once the client closed (or after a stall)
  return seen;
}

}  // namespace

TEST_CASE("credit bounds what a slow handler is sent, and flows back as it handles",
          "[log-client][consumer][credit]") {
  broker_process b;
  auto bc = connect(b);
  create_log_topic(*bc, "l", 1);
  std::vector<fc::message> msgs;
  for (int i = 0; i < 200; ++i)
    msgs.emplace_back("m" + std::to_string(i));
  REQUIRE(bc->publish_batch("l", msgs));

  auto seen = read_slowly(b, "l", 3, 200);
  REQUIRE(seen.size() == 200);
  for (size_t i = 0; i < seen.size(); ++i)
    CHECK(seen[i] == i);

  // The blocking reader holds at most its credit: nothing is lost while it waits.
  auto slow = read_partition(*bc, "l", 0, fc::position::earliest(), 5);
  std::this_thread::sleep_for(200ms);
  auto all = take(slow, 200);
  CHECK(all.back().offset == 199);
  CHECK(slow.next(200ms) == std::nullopt);
}

TEST_CASE("a manual reader resumes after its last delivery when the broker restarts",
          "[log-client][consumer][restart]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 2);
  for (int i = 0; i < 10; ++i)
    REQUIRE(c->publish("l", keyed("k" + std::to_string(i % 3), std::to_string(i))));
  fc::consume_options o;
  o.topic = "l";
  o.credit = 4;
  auto reader = consume(*c, o);
  auto before = take(reader, 4);
  REQUIRE(b.stop() == 0);
  b.restart();
  for (int i = 10; i < 14; ++i)
    REQUIRE(c->publish("l", keyed("k" + std::to_string(i % 3), std::to_string(i))));
  auto after = take(reader, 10, 10s);
  CHECK(reader.next(300ms) == std::nullopt);
  std::map<uint32_t, uint64_t> next;
  std::set<std::string> payloads;
  for (const auto& rec : before)
    next[rec.partition] = rec.offset + 1;
  for (const auto& rec : before)
    payloads.insert(rec.payload);
  std::map<uint32_t, uint64_t> expect;
  for (const auto& rec : after) {
    payloads.insert(rec.payload);
    if (!expect.count(rec.partition)) expect[rec.partition] = next[rec.partition];
    CHECK(rec.offset == expect[rec.partition]++);
  }
  CHECK(payloads.size() == 14);
}
