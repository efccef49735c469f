// Memory topics, delivery guarantees: acks, nacks, leases, redelivery, dead-lettering,
// credit. A real ferryd, driven through libferry.
#include <algorithm>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/client_helpers.h"

using namespace ferry::testing;
namespace fc = ferry::client;
namespace v1 = ferry::v1;

namespace {

using clock_type = std::chrono::steady_clock;

std::string header(const fc::delivery& d, std::string_view key) {
  auto h = d.header(key);
  return h ? std::string(*h) : std::string("<missing>");
}

}  // namespace

TEST_CASE("acked messages are gone, unacked ones come back after a disconnect", "[memory][ack]") {
  broker_process b;
  auto admin = connect(b);
  create_topic(*admin, "jobs");
  create_subscription(*admin, "workers", "jobs");
  for (int i = 0; i < 4; ++i)
    publish(*admin, "jobs", "job" + std::to_string(i));
  {
    auto c = connect(b);
    auto w = attach(*c, "workers", 10);
    for (int i = 0; i < 4; ++i) {
      auto d = next(w);
      CHECK(payload(d) == "job" + std::to_string(i));
      CHECK(d.delivery_count() == 1);
      CHECK(d.topic() == "jobs");
      if (i % 2 == 0) REQUIRE_FALSE(w.ack(d));
    }
  }  // disconnects with job1 and job3 unacked
  auto c = connect(b);
  auto w = attach(*c, "workers", 10);
  auto d1 = next(w);
  auto d3 = next(w);
  CHECK(payload(d1) == "job1");
  CHECK(payload(d3) == "job3");
  CHECK(d1.delivery_count() == 2);
  CHECK(d3.delivery_count() == 2);
  REQUIRE_FALSE(w.ack(d1));
  REQUIRE_FALSE(w.ack(d3));
  CHECK(nothing_within(w, 200ms));  // nothing acked comes back
  auto info = admin->describe_subscription("workers");
  REQUIRE(info);
  CHECK(info->acked() == 4);
  CHECK(info->redelivered() == 2);
  CHECK(info->ready() == 0);
  CHECK(info->unacked() == 0);
}

TEST_CASE("nack requeues ahead of newer messages, or dead-letters with the reason",
          "[memory][nack]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "work");
  create_topic(*c, "work.dlq");
  v1::SubscriptionOptions o;
  o.set_dead_letter_topic("work.dlq");
  create_subscription(*c, "w", "work", o);
  create_subscription(*c, "dead", "work.dlq");
  publish(*c, "work", "a");
  publish(*c, "work", "b");
  auto w = attach(*c, "w", 1);
  auto a = next(w);
  REQUIRE(payload(a) == "a");
  REQUIRE_FALSE(w.nack(a));  // requeue
  auto a2 = next(w);
  CHECK(payload(a2) == "a");  // before b: requeued messages keep their place
  CHECK(a2.delivery_count() == 2);
  REQUIRE_FALSE(w.nack(a2, true, "cannot parse"));
  auto bb = next(w);
  CHECK(payload(bb) == "b");
  REQUIRE_FALSE(w.ack(bb));

  auto dead = attach(*c, "dead", 10);
  auto dl = next(dead);
  CHECK(payload(dl) == "a");
  CHECK(dl.topic() == "work.dlq");
  CHECK(header(dl, "ferry-dead-letter-reason") == "rejected");
  CHECK(header(dl, "ferry-dead-letter-detail") == "cannot parse");
  CHECK(header(dl, "ferry-original-topic") == "work");
  CHECK(header(dl, "ferry-subscription") == "w");
  CHECK(header(dl, "ferry-delivery-count") == "2");
}

TEST_CASE("after max_deliveries a message goes to the dead-letter topic", "[memory][dlq]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "t");
  create_topic(*c, "t.dlq");
  v1::SubscriptionOptions o;
  o.set_max_deliveries(3);
  o.set_dead_letter_topic("t.dlq");
  create_subscription(*c, "s", "t", o);
  create_subscription(*c, "dlq", "t.dlq");
  publish(*c, "t", "poison");
  auto w = attach(*c, "s", 1);
  for (uint32_t n = 1; n <= 3; ++n) {
    auto d = next(w);
    CHECK(d.delivery_count() == n);
    REQUIRE_FALSE(w.nack(d));
  }
  CHECK(nothing_within(w, 200ms));
  auto dead = attach(*c, "dlq", 1);
  auto dl = next(dead);
  CHECK(payload(dl) == "poison");
  CHECK(header(dl, "ferry-dead-letter-reason") == "max_deliveries");
  CHECK(header(dl, "ferry-delivery-count") == "3");
  auto info = c->describe_subscription("s");
  REQUIRE(info);
  CHECK(info->dead_lettered() == 1);
}

TEST_CASE("an unacked delivery is redelivered when its lease ends, and the stale ack is refused",
          "[memory][lease]") {
  broker_process b({"--set", "memory_topics.timer_tick_ms=5"});
  auto c = connect(b);
  create_topic(*c, "t");
  v1::SubscriptionOptions o;
  o.set_ack_timeout_ms(300);
  create_subscription(*c, "s", "t", o);
  auto slow = attach(*c, "s", 1);
  auto c2 = connect(b);
  auto fast = attach(*c2, "s", 1);
  publish(*c, "t", "x");
  auto first = slow.next(5s);
  bool went_to_slow = first.has_value();
  auto& holder = went_to_slow ? slow : fast;
  auto& other = went_to_slow ? fast : slow;
  if (!first) first = next(fast);
  auto delivered_at = clock_type::now();

  // The other consumer gets it once the lease ends (round robin moves on), not before.
  auto again = other.next(5s);
  auto waited = clock_type::now() - delivered_at;
  REQUIRE(again);
  CHECK(payload(*again) == "x");
  CHECK(again->delivery_count() == 2);
  CHECK(waited >= 290ms);  // never before the lease ends (5 ms of clock rounding)
  CHECK(waited < 3s);      // and soon after it (bound generous for loaded CI machines)

  auto stale = holder.ack(*first);
  CHECK(stale.code == ferry::errc::stale_delivery);
  CHECK_FALSE(stale.message.empty());
  CHECK_FALSE(other.ack(*again));
}

TEST_CASE("extending a lease keeps a slow job from being redelivered", "[memory][lease]") {
  broker_process b({"--set", "memory_topics.timer_tick_ms=5"});
  auto c = connect(b);
  create_topic(*c, "t");
  v1::SubscriptionOptions o;
  o.set_ack_timeout_ms(300);
  create_subscription(*c, "s", "t", o);
  auto w = attach(*c, "s", 1);
  publish(*c, "t", "long job");
  auto d = next(w);
  auto start = clock_type::now();
  REQUIRE_FALSE(w.extend(d, 2000ms));
  // Past the original lease, well before the extended one: still held.
  std::this_thread::sleep_until(start + 600ms);
  auto info = c->describe_subscription("s");
  REQUIRE(info);
  CHECK(info->unacked() == 1);
  CHECK(info->redelivered() == 0);
  REQUIRE_FALSE(w.ack(d));
  CHECK(c->describe_subscription("s")->unacked() == 0);
}

TEST_CASE("a consumer never holds more unacked deliveries than its prefetch", "[memory][credit]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "t");
  create_subscription(*c, "s", "t");
  for (int i = 0; i < 10; ++i)
    publish(*c, "t", std::to_string(i));
  auto w = attach(*c, "s", 3);
  std::vector<fc::delivery> held;
  for (int i = 0; i < 3; ++i)
    held.push_back(next(w));
  CHECK(nothing_within(w, 300ms));  // credit exhausted
  auto info = c->describe_subscription("s");
  CHECK(info->unacked() == 3);
  CHECK(info->ready() == 7);
  REQUIRE_FALSE(w.ack(held[0]));
  auto d = next(w);  // one slot freed, one more delivery
  CHECK(payload(d) == "3");
  CHECK(nothing_within(w, 200ms));
}

TEST_CASE("competing consumers share a subscription, each message to one of them",
          "[memory][competing]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "t");
  create_subscription(*c, "s", "t");
  auto c1 = connect(b);
  auto c2 = connect(b);
  auto w1 = attach(*c1, "s", 100);
  auto w2 = attach(*c2, "s", 100);
  for (int i = 0; i < 20; ++i)
    publish(*c, "t", std::to_string(i));
  // Round robin over consumers with credit: ten each, each message to exactly one.
  std::multiset<std::string> seen;
  for (auto* w : {&w1, &w2}) {
    std::vector<int> got;
    for (int i = 0; i < 10; ++i) {
      auto d = next(*w);
      got.push_back(std::stoi(payload(d)));
      seen.insert(payload(d));
      REQUIRE_FALSE(w->ack(d));
    }
    CHECK(std::is_sorted(got.begin(), got.end()));  // each consumer sees them in order
    CHECK(nothing_within(*w, 100ms));
  }
  CHECK(seen.size() == 20);
  for (int i = 0; i < 20; ++i)
    CHECK(seen.count(std::to_string(i)) == 1);
}
