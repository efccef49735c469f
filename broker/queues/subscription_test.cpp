#include "broker/queues/subscription.h"

#include <catch2/catch.hpp>

#include "broker/topics/testing.h"

using namespace ferry::broker;
using ferry::errc;
using testing::make_ref;
using testing::recording_sink;

namespace {

struct fake_env final : subscription_env {
  int64_t t = 1000;
  struct dead {
    std::string payload;
    uint32_t count;
    std::string reason;
  };
  std::vector<dead> dead_letters;
  int64_t now() const override { return t; }
  void dead_letter(subscription&, uint64_t, const message_ref& m, uint32_t count,
                   std::string_view reason, std::string_view) override {
    ferry::codec::message_fields f;
    (void)ferry::codec::parse_message(m.bytes, f, nullptr);
    dead_letters.push_back({std::string(f.payload), count, std::string(reason)});
  }
};

subscription_options opts(int64_t ack_timeout_ms = 100, uint32_t max_deliveries = 0) {
  subscription_options o;
  o.ack_timeout_ms = ack_timeout_ms;
  o.max_deliveries = max_deliveries;
  return o;
}

}  // namespace

TEST_CASE("a subscription delivers in order within the consumer's credit",
          "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(), false, env);
  for (int i = 0; i < 5; ++i)
    s.enqueue(make_ref("t", "m" + std::to_string(i)));
  consumer c(1, sink, 3, false);
  s.attach(c);
  REQUIRE(sink.records.size() == 3);
  CHECK(sink.records[0].payload == "m0");
  CHECK(sink.records[2].payload == "m2");
  CHECK(c.outstanding() == 3);
  CHECK(s.ready_count() == 2);
  REQUIRE_FALSE(s.ack(c, sink.records[0].delivery_id));
  REQUIRE(sink.records.size() == 4);
  CHECK(sink.records[3].payload == "m3");
  CHECK(sink.records[3].delivery_count == 1);
  s.detach(c);
}

TEST_CASE("competing consumers share a subscription round robin", "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(), false, env);
  consumer a(1, sink, 10, false), b(2, sink, 10, false);
  s.attach(a);
  s.attach(b);
  for (int i = 0; i < 4; ++i)
    s.enqueue(make_ref("t", std::to_string(i)));
  REQUIRE(sink.records.size() == 4);
  CHECK(sink.records[0].consumer_id == 1);
  CHECK(sink.records[1].consumer_id == 2);
  CHECK(sink.records[2].consumer_id == 1);
  CHECK(sink.records[3].consumer_id == 2);
  s.detach(a);
  s.detach(b);
}

TEST_CASE(
    "an expired lease requeues the message with a higher delivery count and refuses the old ack",
    "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(100), false, env);
  consumer a(1, sink, 1, false), b(2, sink, 1, false);
  s.attach(a);
  s.enqueue(make_ref("t", "x"));
  REQUIRE(sink.records.size() == 1);
  uint64_t first = sink.records[0].delivery_id;
  s.attach(b);
  env.t += 99;
  s.on_tick();
  CHECK(sink.records.size() == 1);  // lease still held
  env.t += 1;
  s.on_tick();
  REQUIRE(sink.records.size() == 2);
  CHECK(sink.records[1].payload == "x");
  CHECK(sink.records[1].delivery_count == 2);
  CHECK(sink.records[1].consumer_id == 1);  // round robin starts over at a
  uint64_t second = sink.records[1].delivery_id;
  auto why = s.ack(a, first);
  CHECK(why.code == errc::stale_delivery);
  CHECK(why.message.find("superseded") != std::string::npos);
  why = s.ack(b, second);
  CHECK(why.code == errc::stale_delivery);  // not b's delivery
  CHECK(why.message.find("another consumer") != std::string::npos);
  CHECK_FALSE(s.ack(a, second));
  CHECK(s.ack(a, second).code == errc::stale_delivery);
  s.detach(a);
  s.detach(b);
}

TEST_CASE("extending a lease keeps the delivery", "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(100), false, env);
  consumer a(1, sink, 1, false);
  s.attach(a);
  s.enqueue(make_ref("t", "x"));
  env.t += 80;
  REQUIRE_FALSE(s.extend(a, sink.records[0].delivery_id, 500));
  env.t += 400;
  s.on_tick();
  CHECK(sink.records.size() == 1);
  env.t += 100;
  s.on_tick();
  CHECK(sink.records.size() == 2);
  s.detach(a);
}

TEST_CASE("nack requeues or dead-letters, max_deliveries dead-letters", "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(100, 2), false, env);
  consumer a(1, sink, 1, false);
  s.attach(a);
  s.enqueue(make_ref("t", "x"));
  s.enqueue(make_ref("t", "y"));
  REQUIRE_FALSE(s.nack(a, sink.records[0].delivery_id, false, ""));
  REQUIRE(sink.records.size() == 2);
  CHECK(sink.records[1].payload == "x");  // requeued ahead of y
  CHECK(sink.records[1].delivery_count == 2);
  REQUIRE_FALSE(s.nack(a, sink.records[1].delivery_id, false, ""));
  REQUIRE(env.dead_letters.size() == 1);
  CHECK(env.dead_letters[0].payload == "x");
  CHECK(env.dead_letters[0].reason == "max_deliveries");
  CHECK(env.dead_letters[0].count == 2);
  REQUIRE(sink.records.size() == 3);
  CHECK(sink.records[2].payload == "y");
  REQUIRE_FALSE(s.nack(a, sink.records[2].delivery_id, true, "bad input"));
  CHECK(env.dead_letters.back().reason == "rejected");
  CHECK(s.ready_count() == 0);
  s.detach(a);
}

TEST_CASE("detaching a consumer requeues its deliveries in order", "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(), false, env);
  consumer a(1, sink, 10, false);
  s.attach(a);
  for (int i = 0; i < 3; ++i)
    s.enqueue(make_ref("t", std::to_string(i)));
  s.detach(a);
  CHECK(s.ready_count() == 3);
  consumer b(2, sink, 10, false);
  s.attach(b);
  REQUIRE(sink.records.size() == 6);
  CHECK(sink.records[3].payload == "0");
  CHECK(sink.records[4].payload == "1");
  CHECK(sink.records[5].payload == "2");
  CHECK(sink.records[5].delivery_count == 2);
  s.detach(b);
}

TEST_CASE("auto_ack consumers are bounded by credit they return", "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(), false, env);
  consumer a(1, sink, 2, true);
  s.attach(a);
  for (int i = 0; i < 5; ++i)
    s.enqueue(make_ref("t", std::to_string(i)));
  CHECK(sink.records.size() == 2);
  CHECK(s.in_flight_count() == 0);
  s.credit(a, 2);
  CHECK(sink.records.size() == 4);
  s.detach(a);
  CHECK(s.ready_count() == 1);  // nothing requeued: auto-acked deliveries are gone
}

TEST_CASE("limits: drop-oldest dead-letters the head, reject-publish refuses",
          "[topics][subscription]") {
  fake_env env;
  auto o = opts();
  o.max_messages = 2;
  subscription s("s", "t", o, false, env);
  for (int i = 0; i < 4; ++i)
    s.enqueue(make_ref("t", std::to_string(i)));
  CHECK(s.ready_count() == 2);
  REQUIRE(env.dead_letters.size() == 2);
  CHECK(env.dead_letters[0].payload == "0");
  CHECK(env.dead_letters[0].reason == "max_length");

  o.reject_publish = true;
  o.max_messages = 0;
  o.max_bytes = 100;
  subscription r("r", "t", o, false, env);
  CHECK_FALSE(r.would_reject(60));
  r.enqueue(make_ref("t", std::string(60, 'x')));
  CHECK(r.would_reject(60));
}

TEST_CASE("TTL: expired messages leave the head and are never delivered",
          "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(), false, env);
  s.enqueue(make_ref("t", "old", nullptr, env.t + 50));
  s.enqueue(make_ref("t", "new", nullptr, env.t + 500));
  CHECK(s.next_deadline() == env.t + 50);
  env.t += 60;
  s.on_tick();
  CHECK(s.ready_count() == 1);
  REQUIRE(env.dead_letters.size() == 1);
  CHECK(env.dead_letters[0].reason == "expired");
  consumer a(1, sink, 10, false);
  s.attach(a);
  REQUIRE(sink.records.size() == 1);
  CHECK(sink.records[0].payload == "new");
  s.detach(a);
}

TEST_CASE("lease bookkeeping stays bounded by what is in flight", "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(30000), false, env);
  consumer a(1, sink, 10, false);
  s.attach(a);
  for (int i = 0; i < 20000; ++i) {
    s.enqueue(make_ref("t", "m"));
    REQUIRE_FALSE(s.ack(a, sink.records.back().delivery_id));
    if (i % 7 == 0) {  // extensions add entries too
      s.enqueue(make_ref("t", "n"));
      REQUIRE_FALSE(s.extend(a, sink.records.back().delivery_id, 60000));
      REQUIRE_FALSE(s.ack(a, sink.records.back().delivery_id));
    }
  }
  CHECK(s.in_flight_count() == 0);
  CHECK(s.lease_entries_for_test() <= 1024 + 2);
  s.detach(a);
}

TEST_CASE("settling ids that were never issued is an invalid argument", "[topics][subscription]") {
  fake_env env;
  recording_sink sink;
  subscription s("s", "t", opts(), false, env);
  consumer a(1, sink, 10, false);
  s.attach(a);
  CHECK(s.ack(a, 0).code == errc::invalid_argument);
  CHECK(s.ack(a, make_delivery_id(99, 1)).code == errc::invalid_argument);
  s.detach(a);
}
