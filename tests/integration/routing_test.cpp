// Memory topics, routing and limits: fan-out, wildcards, ephemeral subscriptions, TTLs,
// queue limits, publisher confirms, idempotent publishing.
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/client_helpers.h"
#include "tests/support/raw_client.h"

using namespace ferry::testing;
namespace fc = ferry::client;
namespace v1 = ferry::v1;

TEST_CASE("every subscription gets every message, in publish order", "[memory][fanout]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "orders");
  create_subscription(*c, "billing", "orders");
  create_subscription(*c, "shipping", "orders");
  std::vector<fc::message> batch;
  for (int i = 0; i < 100; ++i)
    batch.emplace_back("m" + std::to_string(i));
  auto r = c->publish_batch("orders", batch);
  REQUIRE(r);
  CHECK(r->accepted == 100);
  CHECK(r->subscriptions == 2);
  for (const char* name : {"billing", "shipping"}) {
    auto w = attach(*c, name, 1000, true);
    for (int i = 0; i < 100; ++i)
      CHECK(payload(next(w)) == "m" + std::to_string(i));
    CHECK(nothing_within(w, 100ms));
  }
}

TEST_CASE("wildcard subscriptions match one segment (*) or the rest (>), also for later topics",
          "[memory][wildcard]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "orders.eu");
  create_subscription(*c, "one", "orders.*");
  create_subscription(*c, "rest", "orders.>");
  create_topic(*c, "orders.us");
  create_topic(*c, "orders.eu.created");
  create_topic(*c, "payments.eu");
  CHECK(publish(*c, "orders.eu", "1").subscriptions == 2);
  CHECK(publish(*c, "orders.us", "2").subscriptions == 2);
  CHECK(publish(*c, "orders.eu.created", "3").subscriptions == 1);
  CHECK(publish(*c, "payments.eu", "4").subscriptions == 0);
  auto one = attach(*c, "one", 100, true);
  auto rest = attach(*c, "rest", 100, true);
  auto d = next(one);
  CHECK(payload(d) == "1");
  CHECK(d.topic() == "orders.eu");
  d = next(one);
  CHECK(payload(d) == "2");
  CHECK(d.topic() == "orders.us");
  CHECK(nothing_within(one, 100ms));
  CHECK(payload(next(rest)) == "1");
  CHECK(payload(next(rest)) == "2");
  d = next(rest);
  CHECK(payload(d) == "3");
  CHECK(d.topic() == "orders.eu.created");
  CHECK(nothing_within(rest, 100ms));
}

TEST_CASE(
    "ephemeral subscriptions get what is published while they exist, and vanish with their "
    "consumer",
    "[memory][ephemeral]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "news");
  publish(*c, "news", "before");
  std::string name;
  {
    auto c2 = connect(b);
    auto e = ephemeral(*c2, "news");
    name = e.subscription();
    CHECK(name.rfind("_ephemeral.", 0) == 0);
    publish(*c, "news", "during");
    CHECK(payload(next(e)) == "during");
    CHECK(nothing_within(e, 100ms));
    auto list = c->list_subscriptions();
    REQUIRE(list);
    CHECK(list->subscriptions_size() == 1);
  }  // the connection closes
  std::this_thread::sleep_for(100ms);
  auto list = c->list_subscriptions();
  REQUIRE(list);
  CHECK(list->subscriptions_size() == 0);
  CHECK(publish(*c, "news", "after").subscriptions == 0);
}

TEST_CASE("topic TTL and message TTL expire messages nobody consumed", "[memory][ttl]") {
  broker_process b({"--set", "memory_topics.timer_tick_ms=5"});
  auto c = connect(b);
  create_topic(*c, "short", 200);
  create_topic(*c, "plain");
  create_subscription(*c, "s1", "short");
  create_subscription(*c, "s2", "plain");
  publish(*c, "short", "expires");
  fc::message m("also expires");
  m.ttl = 200ms;
  REQUIRE(c->publish("plain", m));
  publish(*c, "plain", "stays");
  std::this_thread::sleep_for(400ms);
  auto w1 = attach(*c, "s1", 10, true);
  CHECK(nothing_within(w1, 100ms));
  auto w2 = attach(*c, "s2", 10, true);
  CHECK(payload(next(w2)) == "stays");
  CHECK(nothing_within(w2, 100ms));
  CHECK(c->describe_subscription("s1")->expired() == 1);
  CHECK(c->describe_subscription("s2")->expired() == 1);
}

TEST_CASE("max_messages with drop-oldest keeps the newest and dead-letters the rest",
          "[memory][limits]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "t");
  create_topic(*c, "t.dlq");
  v1::SubscriptionOptions o;
  o.set_max_messages(3);
  o.set_dead_letter_topic("t.dlq");
  create_subscription(*c, "s", "t", o);
  create_subscription(*c, "dlq", "t.dlq");
  for (int i = 0; i < 5; ++i)
    publish(*c, "t", std::to_string(i));
  auto w = attach(*c, "s", 10, true);
  for (int i = 2; i < 5; ++i)
    CHECK(payload(next(w)) == std::to_string(i));
  auto dead = attach(*c, "dlq", 10, true);
  for (int i = 0; i < 2; ++i) {
    auto d = next(dead);
    CHECK(payload(d) == std::to_string(i));
    CHECK(d.header("ferry-dead-letter-reason").value_or("") == "max_length");
  }
}

TEST_CASE("reject-publish refuses with QUEUE_FULL and the reason, other subscriptions get nothing",
          "[memory][limits]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "t");
  v1::SubscriptionOptions o;
  o.set_max_messages(2);
  o.set_overflow(v1::REJECT_PUBLISH);
  create_subscription(*c, "small", "t", o);
  create_subscription(*c, "big", "t");
  publish(*c, "t", "1");
  publish(*c, "t", "2");
  auto r = c->publish("t", fc::message("3"));
  REQUIRE_FALSE(r);
  CHECK(r.err().code == ferry::errc::queue_full);
  CHECK(r.err().message.find("small") != std::string::npos);
  CHECK(c->describe_subscription("big")->ready() == 2);  // all or nothing per message
}

TEST_CASE("publisher confirms report refusals with a code and reason", "[memory][confirm]") {
  broker_process b({"--set", "limits.max_message_bytes=1000"});
  auto c = connect(b);
  create_topic(*c, "t");
  auto r = c->publish("missing", fc::message("x"));
  REQUIRE_FALSE(r);
  CHECK(r.err().code == ferry::errc::topic_not_found);
  r = c->publish("t", fc::message(std::string(5000, 'x')));
  REQUIRE_FALSE(r);
  CHECK(r.err().code == ferry::errc::message_too_large);
  r = c->publish("t", fc::message("fine"));
  REQUIRE(r);
  CHECK(r->subscriptions == 0);
}

TEST_CASE("a retried publish with the same producer id and sequence is confirmed but enqueued once",
          "[memory][idempotent]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "t");
  create_subscription(*c, "s", "t");
  raw_client raw(b.host(), b.port());
  raw.handshake();
  v1::Frame f;
  auto* p = f.mutable_publish();
  p->set_topic("t");
  p->set_producer_id("producer-1");
  p->set_first_sequence(7);
  p->add_messages()->set_payload("a");
  p->add_messages()->set_payload("b");
  auto first = raw.request(f);
  CHECK(first.publish_ok().accepted() == 2);
  auto retry = raw.request(f);  // e.g. resent after a lost connection
  CHECK(retry.publish_ok().accepted() == 0);
  CHECK(retry.publish_ok().duplicates() == 2);
  CHECK(retry.publish_ok().errors_size() == 0);
  auto w = attach(*c, "s", 10, true);
  CHECK(payload(next(w)) == "a");
  CHECK(payload(next(w)) == "b");
  CHECK(nothing_within(w, 200ms));
}
