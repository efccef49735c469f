// Shared subscriptions on log topics (PROTOCOL.md 9.9) against a real ferryd, through
// libferry: more consumers than partitions compete and each record is acked once; a
// consumer that vanishes hands its records to the others (delivery count 2); after
// max_deliveries a record goes to the dead-letter topic with reason and count; and the
// same across kill -9 and a restart: no acked record comes again, no unacked one is lost,
// delivery counts carry on.
#include <atomic>
#include <chrono>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/integration/log_client_helpers.h"
#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/push_handler.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
namespace v1 = ferry::v1;

namespace {

using position = std::pair<uint32_t, uint64_t>;  // partition, offset

// Publishes `n` records "r0".."r<n-1>" with keys spread over the partitions; their
// positions by payload.
std::map<std::string, position> publish_records(fc::blocking_client& c, const std::string& topic,
                                                size_t n, size_t from = 0) {
  std::map<std::string, position> out;
  for (size_t i = from; i < from + n; ++i) {
    const std::string p = "r" + std::to_string(i);
    auto r = c.publish(topic, keyed("k" + std::to_string(i), p));
    REQUIRE(r);
    out[p] = {r.value().partition, r.value().offset};
  }
  return out;
}

// What one consumer acked, by payload, with the position each delivery named.
struct acked_log {
  std::mutex m;
  std::map<std::string, int> times;
  std::map<std::string, position> where;
  size_t total() {
    std::lock_guard l(m);
    return times.size();
  }
};

v1::SubscriptionOptions options(uint32_t max_deliveries, const std::string& dlt = {},
                                uint32_t ack_timeout_ms = 0) {
  v1::SubscriptionOptions o;
  o.set_max_deliveries(max_deliveries);
  o.set_dead_letter_topic(dlt);
  o.set_ack_timeout_ms(ack_timeout_ms);
  return o;
}

}  // namespace

TEST_CASE("five consumers on two partitions compete: every record is acked exactly once",
          "[shares]") {
  broker_process b;
  auto admin = connect(b);
  create_log_topic(*admin, "events", 2);
  create_subscription(*admin, "work", "events");
  const auto published = publish_records(*admin, "events", 400);
  acked_log acked;
  std::map<int, int> per_consumer;
  std::vector<std::thread> threads;
  std::mutex pm;
  for (int i = 0; i < 5; ++i) {
    threads.emplace_back([&, i] {
      auto c = connect(b);
      auto sub = attach(*c, "work", 8);
      while (acked.total() < published.size()) {
        auto d = sub.next(300ms);
        if (!d) continue;
        REQUIRE_FALSE(sub.ack(*d));
        std::lock_guard l(acked.m);
        ++acked.times[payload(*d)];
        acked.where[payload(*d)] = {d->partition(), d->offset()};
        std::lock_guard l2(pm);
        ++per_consumer[i];
      }
    });
  }
  for (auto& t : threads)
    t.join();
  REQUIRE(acked.times.size() == published.size());
  for (const auto& [p, n] : acked.times) {
    INFO(p);
    CHECK(n == 1);
    CHECK(acked.where[p] == published.at(p));  // the delivery names the record's position
  }
  CHECK(per_consumer.size() == 5);  // more consumers than partitions, and every one worked
  v1::SubscriptionInfo info = admin->describe_subscription("work").value();
  CHECK(info.acked() == 400);
  CHECK(info.ready() == 0);
  CHECK(info.unacked() == 0);
}

TEST_CASE("the records of a consumer that vanished go to another, with delivery count 2",
          "[shares]") {
  broker_process b;
  auto admin = connect(b);
  create_log_topic(*admin, "events", 3);
  create_subscription(*admin, "work", "events");
  publish_records(*admin, "events", 30);
  std::set<std::string> held;
  {
    auto doomed = connect(b);
    auto sub = attach(*doomed, "work", 10);
    for (int i = 0; i < 10; ++i)
      held.insert(payload(next(sub)));
  }  // its connection closes without an ack
  auto c = connect(b);
  auto sub = attach(*c, "work", 50);
  std::set<std::string> seen;
  while (seen.size() < 30) {
    auto d = next(sub);
    CHECK(d.delivery_count() == (held.contains(payload(d)) ? 2u : 1u));
    CHECK(seen.insert(payload(d)).second);
    REQUIRE_FALSE(sub.ack(d));
  }
  CHECK(nothing_within(sub, 300ms));
}

TEST_CASE("after max_deliveries a record is dead-lettered with its reason and count", "[shares]") {
  broker_process b;
  auto admin = connect(b);
  create_log_topic(*admin, "events", 2);
  create_log_topic(*admin, "events.dlq", 1);
  create_subscription(*admin, "work", "events", options(2, "events.dlq"));
  REQUIRE(admin->publish("events", keyed("a", "poison")));
  REQUIRE(admin->publish("events", keyed("b", "refused")));
  auto c = connect(b);
  auto sub = attach(*c, "work", 10);
  for (int round = 1; round <= 2; ++round) {
    auto d = next(sub);
    if (payload(d) == "refused") {
      REQUIRE_FALSE(sub.nack(d, /*dead_letter=*/true, "bad input"));
      d = next(sub);
    }
    CHECK(payload(d) == "poison");
    CHECK(d.delivery_count() == static_cast<uint32_t>(round));
    REQUIRE_FALSE(sub.nack(d));  // requeue; the second time it is dead-lettered instead
  }
  auto dlq = read_partition(*admin, "events.dlq", 0, fc::position::earliest(), 10);
  std::map<std::string, fc::delivery> dead;
  for (int i = 0; i < 2; ++i) {
    auto d = dlq.next(5s);
    REQUIRE(d);
    dead.emplace(std::string(d->payload()), std::move(*d));
  }
  const auto& poison = dead.at("poison");
  CHECK(poison.header("ferry-dead-letter-reason") == "max_deliveries");
  CHECK(poison.header("ferry-delivery-count") == "2");
  CHECK(poison.header("ferry-original-topic") == "events");
  CHECK(poison.header("ferry-subscription") == "work");
  const auto& refused = dead.at("refused");
  CHECK(refused.header("ferry-dead-letter-reason") == "rejected");
  CHECK(refused.header("ferry-dead-letter-detail") == "bad input");
  CHECK(nothing_within(sub, 300ms));
  CHECK(admin->describe_subscription("work").value().dead_lettered() == 2);
  // The nacks were answered once both records were done: after kill -9 neither comes back.
  b.kill_hard();
  b.restart();
  auto after = connect(b);
  auto again = attach(*after, "work", 10);
  CHECK(nothing_within(again, 500ms));
}

TEST_CASE("a new shared subscription starts at the log's end, also when ferryd dies at once",
          "[shares]") {
  broker_process b;
  {
    auto c = connect(b);
    create_log_topic(*c, "events", 2);
    publish_records(*c, "events", 5);  // before the subscription: not its records
    create_subscription(*c, "work", "events");
    b.kill_hard();  // its start was stored with its definition
  }
  b.restart();
  auto c = connect(b);
  publish_records(*c, "events", 2, 5);
  auto sub = attach(*c, "work", 10);
  std::set<std::string> got;
  for (int i = 0; i < 2; ++i) {
    auto d = next(sub);
    got.insert(payload(d));
    REQUIRE_FALSE(sub.ack(d));
  }
  CHECK(got == std::set<std::string>{"r5", "r6"});
  CHECK(nothing_within(sub, 300ms));
}

// Before the crash: "r0" delivered twice (nacked once), 150 records acked, 10 held
// unacked when the broker dies.
struct before_crash {
  std::map<std::string, position> published;
  std::set<std::string> acked, held;
};

before_crash work_then_crash(broker_process& b) {
  before_crash out;
  auto admin = connect(b);
  create_log_topic(*admin, "events", 4);
  create_log_topic(*admin, "events.dlq", 1);
  create_subscription(*admin, "work", "events", options(3, "events.dlq"));
  out.published = publish_records(*admin, "events", 200);
  auto c = connect(b);
  auto sub = attach(*c, "work", 20);
  bool twice = false;
  while (out.acked.size() < 150 || out.held.size() < 10 || !twice) {
    auto d = next(sub);
    if (payload(d) == "r0" && !twice) {
      if (d.delivery_count() == 1) {
        REQUIRE_FALSE(sub.nack(d));
      } else {
        twice = true;  // its count 2 is stored with the next ack's change
      }
      continue;
    }
    if (out.acked.size() < 150) {
      REQUIRE_FALSE(sub.ack(d));  // answered once stored
      out.acked.insert(payload(d));
    } else if (out.held.size() < 10) {
      out.held.insert(payload(d));
    }
  }
  auto last = next(sub);
  REQUIRE_FALSE(sub.ack(last));  // one more ack: whatever was delivered is stored
  out.acked.insert(payload(last));
  b.kill_hard();
  return out;
}

TEST_CASE(
    "across kill -9 and a restart no acked record comes again, no unacked one is lost, and "
    "delivery counts carry on to the dead-letter topic",
    "[shares]") {
  broker_process b;
  const auto before = work_then_crash(b);
  b.restart();
  auto c = connect(b);
  auto sub = attach(*c, "work", 50);
  std::set<std::string> again;
  for (;;) {
    auto d = sub.next(1s);
    if (!d) break;
    const std::string p = payload(*d);
    INFO(p);
    CHECK_FALSE(before.acked.contains(p));
    CHECK(again.insert(p).second);
    if (before.held.contains(p)) CHECK(d->delivery_count() == 2u);
    if (p == "r0") {
      CHECK(d->delivery_count() == 3u);
      REQUIRE_FALSE(sub.nack(*d));  // the third delivery was the last
      continue;
    }
    REQUIRE_FALSE(sub.ack(*d));
  }
  // Everything not acked before came again, once.
  CHECK(again.size() + before.acked.size() == before.published.size());
  for (const auto& p : before.held)
    CHECK(again.contains(p));
  auto dlq = read_partition(*c, "events.dlq", 0, fc::position::earliest(), 10);
  auto d = dlq.next(5s);
  REQUIRE(d);
  CHECK(payload(*d) == "r0");
  CHECK(d->header("ferry-delivery-count") == "3");
}

TEST_CASE("a push endpoint on a shared subscription gets each record, and a 2xx acks it for good",
          "[shares][push]") {
  push_handler handler;
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "events", 3);
  v1::SubscriptionOptions o;
  o.mutable_push()->set_url(handler.url());
  o.mutable_push()->set_timeout_ms(2000);
  create_subscription(*c, "work", "events", o);
  publish_records(*c, "events", 20);
  REQUIRE(handler.wait_for(20));
  std::set<std::string> bodies, ids;
  for (const auto& r : handler.requests()) {
    bodies.insert(r.body);
    ids.insert(r.header("ce-id"));
    CHECK(r.header("ce-id").starts_with("events/"));  // the record: topic/partition/offset
  }
  CHECK(bodies.size() == 20);
  CHECK(ids.size() == 20);
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (c->describe_subscription("work").value().acked() < 20 &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  CHECK(c->describe_subscription("work").value().acked() == 20);
  std::this_thread::sleep_for(500ms);  // the acks' state is written just after them
  b.kill_hard();
  b.restart();
  std::this_thread::sleep_for(1s);
  CHECK(handler.requests().size() == 20);  // nothing acked is pushed again
}

TEST_CASE("a backlog larger than the read-ahead is read in steps, each record once", "[shares]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "events", 2, v1::FSYNC_NEVER);
  create_subscription(*c, "work", "events");
  constexpr int total = 12'000;  // more than the read-ahead of 10,000 records
  for (int from = 0; from < total; from += 1000) {
    std::vector<fc::message> batch;
    for (int i = from; i < from + 1000; ++i)
      batch.push_back(keyed("k" + std::to_string(i % 7), "r" + std::to_string(i)));
    REQUIRE(c->publish_batch("events", std::move(batch)));
  }
  auto sub = attach(*c, "work", 2000);
  std::set<std::string> seen;
  while (seen.size() < static_cast<size_t>(total)) {
    auto d = next(sub);
    CHECK(seen.insert(payload(d)).second);
    REQUIRE_FALSE(sub.ack(d));
  }
  CHECK(nothing_within(sub, 300ms));
  CHECK(c->describe_subscription("work").value().acked() == static_cast<uint64_t>(total));
}

TEST_CASE("what a shared subscription cannot be is refused with a code and a reason", "[shares]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "events", 2);
  auto refused = [&](const std::string& name, const v1::SubscriptionOptions& o) {
    v1::CreateSubscription req;
    req.set_name(name);
    req.set_pattern("events");
    *req.mutable_options() = o;
    auto r = c->create_subscription(req);
    REQUIRE_FALSE(r);
    INFO(r.err().to_string());
    CHECK_FALSE(r.err().message.empty());
    return r.err().code;
  };
  v1::SubscriptionOptions bounded;
  bounded.set_max_messages(10);  // the backlog is the log
  CHECK(refused("a", bounded) == ferry::errc::invalid_argument);
  CHECK(refused("b", options(0, "events")) == ferry::errc::invalid_argument);  // itself
  CHECK(refused("c", options(0, "nowhere")) == ferry::errc::topic_not_found);
  fc::subscribe_options ephemeral;  // no name: a log topic is read with ConsumeLog
  ephemeral.pattern = "events";
  auto e = c->subscribe(ephemeral);
  REQUIRE_FALSE(e);
  CHECK(e.err().code == ferry::errc::wrong_topic_kind);
  create_subscription(*c, "work", "events");
  auto purge = c->purge_subscription("work");
  REQUIRE_FALSE(purge);
  CHECK(purge.err().code == ferry::errc::invalid_argument);
}
