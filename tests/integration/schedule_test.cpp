// Delayed delivery (PROTOCOL.md 5.7) against a real ferryd: a Publish whose messages carry
// delay_ms or not_before_ms is confirmed once stored, and each message reaches the topic's
// consumers at its due time, never before; in order of due time; on log topics too; after a
// restart (also kill -9) for what came due while ferryd was down; and a delayed message
// behind an undelayed one in the same Publish is refused rather than delivered early. The
// delays are a few hundred milliseconds: no minutes of sleeping.
#include <chrono>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/integration/log_client_helpers.h"
#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_client.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
namespace v1 = ferry::v1;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

// One Publish frame of `payloads`, each delayed by `delay_ms` (0: not delayed), or due at
// `not_before_ms` when that is set.
v1::Frame delayed(const std::string& topic, const std::vector<std::string>& payloads,
                  uint64_t delay_ms, int64_t not_before_ms = 0) {
  v1::Frame f;
  auto* p = f.mutable_publish();
  p->set_topic(topic);
  for (const auto& payload : payloads) {
    auto* m = p->add_messages();
    m->set_payload(payload);
    m->set_delay_ms(delay_ms);
    m->set_not_before_ms(not_before_ms);
  }
  return f;
}

v1::PublishOk publish_ok(raw_client& c, const v1::Frame& f) {
  auto r = c.request(f);
  INFO(r.DebugString());
  REQUIRE(r.has_publish_ok());
  return r.publish_ok();
}

// What arrives, with when it arrived (Unix ms).
struct arrival {
  std::string payload;
  int64_t at = 0;
  int64_t not_before = 0;
};
arrival take(fc::blocking_consumer& c, std::chrono::milliseconds timeout = 5s) {
  auto d = next(c, timeout);
  arrival a{payload(d), wall_ms(), d.fields().not_before_ms};
  REQUIRE_FALSE(c.ack(d));
  return a;
}

// A ferryd with the memory topic `orders`, the subscription `audit` on it, a consumer of
// `audit`, and a raw client for delayed Publish frames.
struct orders_audit {
  broker_process b;
  std::unique_ptr<fc::blocking_client> c = connect(b);
  fc::blocking_consumer sub = declare();
  raw_client raw{b.host(), b.port()};

  orders_audit() { raw.handshake(); }
  fc::blocking_consumer declare() {
    create_topic(*c, "orders");
    create_subscription(*c, "audit", "orders");
    return attach(*c, "audit", 10);
  }
};

}  // namespace

TEST_CASE("a delayed message is confirmed at once and delivered at its due time, not before",
          "[schedule]") {
  orders_audit o;
  auto& c = *o.c;
  auto& raw = o.raw;
  auto& sub = o.sub;
  const int64_t sent = wall_ms();
  auto ok = publish_ok(raw, delayed("orders", {"later"}, 400));
  CHECK(ok.accepted() == 1);
  CHECK(c.describe_topic("orders").value().scheduled() == 1);  // waiting, and counted
  REQUIRE(ok.scheduled_ids_size() == 1);
  CHECK(ok.offsets_size() == 0);
  CHECK(nothing_within(sub, 300ms));
  auto a = take(sub);
  CHECK(a.payload == "later");
  CHECK(a.at >= sent + 400);          // never early
  CHECK(a.not_before >= sent + 400);  // the message says when it was due
  CHECK(a.at - a.not_before < 250);   // and came soon after (the bound is 50 ms idle)
  // No longer counted once erased from the schedule (a synced write after the release).
  const auto until = std::chrono::steady_clock::now() + 2s;
  while (c.describe_topic("orders").value().scheduled() != 0 &&
         std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(10ms);
  CHECK(c.describe_topic("orders").value().scheduled() == 0);
}

TEST_CASE("delayed messages come in order of due time, whatever order they were sent in",
          "[schedule]") {
  orders_audit o;
  auto& raw = o.raw;
  auto& sub = o.sub;
  const int64_t now = wall_ms();
  publish_ok(raw, delayed("orders", {"third"}, 600));
  publish_ok(raw, delayed("orders", {"first"}, 150));
  publish_ok(raw, delayed("orders", {"second"}, 0, now + 400));
  CHECK(take(sub).payload == "first");
  CHECK(take(sub).payload == "second");
  CHECK(take(sub).payload == "third");
}

TEST_CASE("a log topic gets a delayed record at its due time, with an offset then", "[schedule]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "events", 1);
  raw_client raw(b.host(), b.port());
  raw.handshake();
  publish(*c, "events", "now");
  const int64_t sent = wall_ms();
  auto ok = publish_ok(raw, delayed("events", {"later-1", "later-2"}, 300));
  CHECK(ok.accepted() == 2);
  CHECK(ok.scheduled_ids_size() == 2);
  auto reader = read_partition(*c, "events", 0, fc::position::earliest(), 10);
  auto records = take(reader, 3, 5s);
  REQUIRE(records.size() == 3);
  CHECK(records[0].payload == "now");
  CHECK(records[1].payload == "later-1");
  CHECK(records[2].payload == "later-2");
  CHECK(records[1].offset == 1);
  CHECK(wall_ms() >= sent + 300);
}

TEST_CASE("what came due while ferryd was down is released at start, after kill -9 too",
          "[schedule]") {
  broker_process b;
  {
    auto c = connect(b);
    create_topic(*c, "orders");
    create_subscription(*c, "audit", "orders");
  }
  const int64_t sent = wall_ms();
  {
    raw_client raw(b.host(), b.port());
    raw.handshake();
    publish_ok(raw, delayed("orders", {"due while down"}, 300));
    publish_ok(raw, delayed("orders", {"due after start"}, 2500));
  }
  b.kill_hard();  // confirmed means stored: synced before PublishOk
  std::this_thread::sleep_for(600ms);
  b.restart();
  auto c = connect(b);
  auto sub = attach(*c, "audit", 10);
  auto first = take(sub, 3s);
  CHECK(first.payload == "due while down");
  CHECK(first.at >= sent + 300);
  auto second = take(sub, 5s);
  CHECK(second.payload == "due after start");
  CHECK(second.at >= sent + 2500);
  CHECK(nothing_within(sub, 300ms));  // each once
}

TEST_CASE(
    "the first message of a Publish decides: a delayed one behind an undelayed one is "
    "refused, never delivered early",
    "[schedule]") {
  orders_audit o;
  auto& raw = o.raw;
  auto& sub = o.sub;
  auto mixed = delayed("orders", {"now", "later"}, 0);
  mixed.mutable_publish()->mutable_messages(1)->set_delay_ms(500);
  auto ok = publish_ok(raw, mixed);
  CHECK(ok.accepted() == 1);
  REQUIRE(ok.errors_size() == 1);
  CHECK(ok.errors(0).index() == 1);
  CHECK(ok.errors(0).code() == v1::INVALID_ARGUMENT);
  CHECK(take(sub).payload == "now");
  // Delayed first: the undelayed one behind it is scheduled for now (it comes at once).
  auto other = delayed("orders", {"in a while", "right away"}, 0);
  other.mutable_publish()->mutable_messages(0)->set_delay_ms(400);
  ok = publish_ok(raw, other);
  CHECK(ok.scheduled_ids_size() == 2);
  CHECK(take(sub, 1s).payload == "right away");
  CHECK(take(sub).payload == "in a while");
  // A delayed publish to a topic that does not exist: refused as any publish is.
  auto missing = raw.request(delayed("nope", {"x"}, 100));
  REQUIRE(missing.has_error());
  CHECK(missing.error().code() == v1::TOPIC_NOT_FOUND);
}

TEST_CASE("over HTTP, ferry-delay-ms delays every message of the request", "[schedule]") {
  orders_audit o;
  auto& sub = o.sub;
  const int64_t sent = wall_ms();
  auto r = http_call(o.b.http_port(), "POST", "/v1/topics/orders/messages", "over http",
                     {{"ferry-delay-ms", "300"}, {"Content-Type", "text/plain"}});
  INFO(r.body);
  REQUIRE(r.status == 201);
  CHECK(r.json().at("scheduled_ids").as_array().size() == 1);
  auto a = take(sub);
  CHECK(a.payload == "over http");
  CHECK(a.at >= sent + 300);
  auto bad = http_call(o.b.http_port(), "POST", "/v1/topics/orders/messages?delay_ms=soon", "x");
  CHECK(bad.status == 400);
}

TEST_CASE(
    "libferry: a delayed message between undelayed ones of an idempotent producer on a "
    "log topic leaves no sequence gap",
    "[schedule]") {
  broker_process b;
  auto c = connect(b);  // idempotent by default
  create_log_topic(*c, "events", 1);
  REQUIRE(c->publish("events", fc::message("before")));
  fc::message later("later");
  later.delay = 300ms;
  const int64_t sent = wall_ms();
  auto scheduled = c->publish("events", later);
  REQUIRE(scheduled);
  CHECK_FALSE(scheduled.value().scheduled_id.empty());
  CHECK_FALSE(scheduled.value().has_offset);
  auto after = c->publish("events", fc::message("after"));
  REQUIRE(after);  // not SEQUENCE_GAP: the delayed frame took no sequence
  CHECK(after.value().offset == 1);
  auto reader = read_partition(*c, "events", 0, fc::position::earliest(), 10);
  auto records = take(reader, 3, 5s);
  REQUIRE(records.size() == 3);
  CHECK(records[0].payload == "before");
  CHECK(records[1].payload == "after");
  CHECK(records[2].payload == "later");
  CHECK(wall_ms() >= sent + 300);
}

TEST_CASE(
    "a cancelled message is never delivered, across a kill -9, and libferry and HTTP list what "
    "waits in due order",
    "[schedule]") {
  orders_audit o;
  auto later = publish_ok(o.raw, delayed("orders", {"later"}, 60'000)).scheduled_ids(0);
  auto soon = publish_ok(o.raw, delayed("orders", {"cancelled"}, 400)).scheduled_ids(0);
  auto kept = publish_ok(o.raw, delayed("orders", {"kept"}, 500)).scheduled_ids(0);
  v1::ListScheduled req;
  req.set_topic("orders");
  auto page = o.c->list_scheduled(req);
  REQUIRE(page);
  CHECK(page->waiting() == 3);
  REQUIRE(page->messages_size() == 3);
  CHECK(page->messages(0).id() == soon);
  CHECK(page->messages(1).id() == kept);
  CHECK(page->messages(2).id() == later);
  CHECK(page->messages(2).message().payload() == "later");
  CHECK(page->next_due_ms() == page->messages(0).due_ms());
  REQUIRE(o.c->cancel_scheduled("orders", soon));
  auto again = o.c->cancel_scheduled("orders", soon);
  REQUIRE_FALSE(again);
  CHECK(again.err().code == ferry::errc::scheduled_not_found);
  o.b.kill_hard();  // the cancel was synced before its answer
  o.b.restart();
  // libferry reconnects and attaches its consumer again.
  CHECK(take(o.sub, 5s).payload == "kept");
  CHECK(nothing_within(o.sub, 300ms));
  // Over HTTP: the one left, then cancelled by DELETE.
  auto listed = http_call(o.b.http_port(), "GET", "/v1/topics/orders/scheduled?limit=10", "");
  INFO(listed.body);
  REQUIRE(listed.status == 200);
  CHECK(listed.json().at("waiting").to_number<int64_t>() == 1);
  REQUIRE(listed.json().at("messages").as_array().size() == 1);
  CHECK(listed.json().at("messages").at(0).at("id").as_string() == later);
  auto bad = http_call(o.b.http_port(), "GET", "/v1/topics/orders/scheduled?limit=x", "");
  CHECK(bad.status == 400);
  auto gone = http_call(o.b.http_port(), "DELETE", "/v1/topics/orders/scheduled/" + later, "");
  CHECK(gone.status == 200);
  auto missing = http_call(o.b.http_port(), "DELETE", "/v1/topics/orders/scheduled/" + later, "");
  CHECK(missing.status == 404);
  CHECK(missing.json().at("error").at("code") == "SCHEDULED_NOT_FOUND");
}
