// WebSockets (GET /v1/ws) against a real ferryd through a real WebSocket client
// (tests/support/ws_client.h): deliveries as CloudEvents JSON and as protobuf, acks and
// stale acks, credit never exceeded, redelivery when the socket goes away, log topics,
// ping/idle timeouts, a client that stops reading cut off without stalling the broker, and
// bad input answered with an error.
#include <chrono>
#include <set>
#include <thread>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "ferry/v1/websocket.pb.h"

#include "tests/integration/log_client_helpers.h"
#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/ws_client.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
namespace json = boost::json;
namespace v1 = ferry::v1;

namespace {

// A memory topic `orders` with the subscription `audit`.
std::unique_ptr<fc::blocking_client> orders_and_audit(const broker_process& b,
                                                      v1::SubscriptionOptions o = {}) {
  auto c = connect(b);
  create_topic(*c, "orders");
  create_subscription(*c, "audit", "orders", o);
  return c;
}

// Subscribes to `audit` with `prefetch`; returns the consumer id.
uint64_t subscribe(ws_client& ws, uint32_t prefetch, bool auto_ack = false) {
  auto id = ws.request(
      {{"subscribe",
        json::object{{"subscription", "audit"}, {"prefetch", prefetch}, {"auto_ack", auto_ack}}}});
  auto ok = ws.answer(id);
  INFO(json::serialize(ok));
  REQUIRE(ok.contains("subscribe_ok"));
  return ok.at("subscribe_ok").at("consumer_id").to_number<uint64_t>();
}

// Every delivery that arrives until nothing came for `quiet`.
std::vector<json::object> deliveries_until_quiet(ws_client& ws, std::chrono::milliseconds quiet) {
  std::vector<json::object> out;
  while (auto d = ws.next_deliver(quiet))
    for (auto& one : d->at("deliver").at("deliveries").as_array())
      out.push_back(one.as_object());
  return out;
}

json::object settle(ws_client& ws, const char* op, uint64_t consumer,
                    const std::vector<uint64_t>& ids, json::object extra = {}) {
  json::array a;
  for (auto id : ids)
    a.push_back(id);
  extra["consumer_id"] = consumer;
  extra["delivery_ids"] = std::move(a);
  return ws.answer(ws.request({{op, std::move(extra)}}));
}

uint64_t id_of(const json::object& delivery) {
  return delivery.at("delivery_id").to_number<uint64_t>();
}

std::string error_code(const json::object& answer) {
  if (!answer.contains("error")) return "";
  return std::string(answer.at("error").at("code").as_string());
}

}  // namespace

TEST_CASE("a delivery is a CloudEvent with every attribute, and an ack settles it", "[ws]") {
  broker_process b;
  auto c = orders_and_audit(b);
  fc::message m("{\"user\":\"ada\"}");
  m.id = "login-1";
  m.source = "/login";
  m.type = "user.login";
  m.subject = "ada";
  m.content_type = "application/json";
  m.headers.emplace_back("region", "eu");
  REQUIRE(c->publish("orders", m));
  publish(*c, "orders", "plain");

  ws_client ws(b.http_port());
  REQUIRE(ws.refused().empty());
  const uint64_t consumer = subscribe(ws, 10);
  auto got = deliveries_until_quiet(ws, 500ms);
  REQUIRE(got.size() == 2);
  const auto& e = got[0].at("event").as_object();
  CHECK(got[0].at("topic") == "orders");
  CHECK(got[0].at("delivery_count") == 1);
  CHECK(e.at("specversion") == "1.0");
  CHECK(e.at("id") == "login-1");
  CHECK(e.at("source") == "/login");
  CHECK(e.at("type") == "user.login");
  CHECK(e.at("subject") == "ada");
  CHECK(e.at("datacontenttype") == "application/json");
  CHECK(e.at("region") == "eu");
  CHECK(e.at("data").at("user") == "ada");
  // Without attributes: the subscription and sequence, the topic, ferry.message.
  const auto& plain = got[1].at("event").as_object();
  CHECK(std::string(plain.at("id").as_string()).starts_with("audit/"));
  CHECK(plain.at("source") == "/topics/orders");
  CHECK(plain.at("type") == "ferry.message");

  auto ok = settle(ws, "ack", consumer, {id_of(got[0]), id_of(got[1])});
  INFO(json::serialize(ok));
  CHECK(ok.at("settle_ok").at("settled") == 2);
  ws.close();
  auto info = c->describe_subscription("audit");
  REQUIRE(info);
  CHECK(info.value().acked() == 2);
}

TEST_CASE("never more unacked than the credit, and acks make room", "[ws]") {
  broker_process b;
  auto c = orders_and_audit(b);
  for (int i = 0; i < 20; ++i)
    publish(*c, "orders", "m" + std::to_string(i));
  ws_client ws(b.http_port());
  const uint64_t consumer = subscribe(ws, 5);
  auto first = deliveries_until_quiet(ws, 500ms);
  REQUIRE(first.size() == 5);
  settle(ws, "ack", consumer, {id_of(first[0]), id_of(first[1])});
  auto more = deliveries_until_quiet(ws, 500ms);
  CHECK(more.size() == 2);
  // A nack with requeue brings the message back (to this consumer: it has room again).
  settle(ws, "nack", consumer, {id_of(first[2])}, {{"action", "requeue"}});
  auto again = deliveries_until_quiet(ws, 500ms);
  REQUIRE(again.size() == 1);
  CHECK(again[0].at("delivery_count") == 2);
  // Extending a lease answers settled; an unknown delivery is an error per id.
  auto ext = settle(ws, "extend_lease", consumer, {id_of(first[3])}, {{"extend_ms", 5000}});
  CHECK(ext.at("settle_ok").at("settled") == 1);
}

TEST_CASE("deliveries go back to the queue when the socket goes away, and stale acks are refused",
          "[ws]") {
  broker_process b;
  auto c = orders_and_audit(b);
  for (int i = 0; i < 3; ++i)
    publish(*c, "orders", "m" + std::to_string(i));
  std::vector<uint64_t> old_ids;
  {
    ws_client ws(b.http_port());
    subscribe(ws, 10);
    for (auto& d : deliveries_until_quiet(ws, 500ms))
      old_ids.push_back(id_of(d));
    REQUIRE(old_ids.size() == 3);
    ws.drop();  // vanished: no close handshake
  }
  ws_client again(b.http_port());
  const uint64_t consumer = subscribe(again, 10);
  auto redelivered = deliveries_until_quiet(again, 1000ms);
  REQUIRE(redelivered.size() == 3);
  for (const auto& d : redelivered)
    CHECK(d.at("delivery_count") == 2);
  auto stale = settle(again, "ack", consumer, old_ids);
  INFO(json::serialize(stale));
  CHECK(stale.at("settle_ok").at("settled") == 0);
  CHECK(stale.at("settle_ok").at("errors").as_array().size() == 3);
  std::vector<uint64_t> ids;
  for (auto& d : redelivered)
    ids.push_back(id_of(d));
  CHECK(settle(again, "ack", consumer, ids).at("settle_ok").at("settled") == 3);
}

TEST_CASE("a log topic read from the start, with credit, in protobuf", "[ws]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "events", 1, v1::FSYNC_NEVER);
  for (int i = 0; i < 10; ++i)
    publish(*c, "events", "r" + std::to_string(i));
  ws_client ws(b.http_port(), "/v1/ws?format=protobuf");
  REQUIRE(ws.refused().empty());
  v1::WsRequest req;
  req.set_id(7);
  auto* cl = req.mutable_consume_log();
  cl->set_topic("events");
  cl->add_partitions()->set_partition(0);
  cl->set_credit(4);
  ws.send_binary(req.SerializeAsString());
  auto read_event = [&] {
    auto m = ws.read();
    REQUIRE(m);
    CHECK_FALSE(m->text);
    v1::WsEvent e;
    REQUIRE(e.ParseFromString(m->data));
    return e;
  };
  auto ok = read_event();
  REQUIRE(ok.has_consume_log_ok());
  CHECK(ok.id() == 7);
  const uint64_t consumer = ok.consume_log_ok().consumer_id();
  std::vector<std::string> seen;
  auto take = [&](size_t n) {
    while (seen.size() < n) {
      auto e = read_event();
      REQUIRE(e.has_deliver());
      for (const auto& d : e.deliver().deliveries()) {
        CHECK(d.offset() == seen.size());
        seen.push_back(d.message().payload());
      }
    }
  };
  take(4);
  CHECK_FALSE(ws.read(300ms));  // the credit is spent
  // Credit gives back what was consumed: the window stays 4 records.
  auto give_back = [&](uint32_t n) {
    v1::WsRequest credit;
    credit.mutable_credit()->set_consumer_id(consumer);
    credit.mutable_credit()->set_credit(n);
    ws.send_binary(credit.SerializeAsString());
  };
  give_back(4);
  take(8);
  CHECK_FALSE(ws.read(300ms));
  give_back(4);
  take(10);
  CHECK(seen[9] == "r9");
}

TEST_CASE("bad input gets an error and the connection goes on", "[ws]") {
  broker_process b({"--set", "http.ws_max_message_bytes=4096"});
  auto c = orders_and_audit(b);
  ws_client ws(b.http_port());
  auto expect_error = [&](const std::string& text, const std::string& code) {
    ws.send(text);
    auto m = ws.read();
    REQUIRE(m);
    auto o = m->json().as_object();
    INFO(text << " -> " << m->data);
    CHECK(error_code(o) == code);
    CHECK_FALSE(o.at("error").at("message").as_string().empty());
  };
  expect_error("not json", "INVALID_ARGUMENT");
  expect_error("[1,2]", "INVALID_ARGUMENT");
  expect_error(R"({"id":1})", "INVALID_ARGUMENT");
  expect_error(R"({"id":1,"ack":{},"nack":{}})", "INVALID_ARGUMENT");
  expect_error(R"({"id":1,"subscribe":{"subscription":"audit","prefetch":"many"}})",
               "INVALID_ARGUMENT");
  expect_error(R"({"id":1,"subscribe":{"subscription":"audit","surprise":1}})", "INVALID_ARGUMENT");
  expect_error(R"({"id":2,"subscribe":{"subscription":"nope"}})", "SUBSCRIPTION_NOT_FOUND");
  expect_error(R"({"id":3,"subscribe":{"pattern":"bad name!"}})", "INVALID_PATTERN");
  expect_error(R"({"id":4,"consume_log":{"topic":"orders"}})", "WRONG_TOPIC_KIND");
  ws.send_binary("\xff\xff\xff");
  auto bin = ws.read();
  REQUIRE(bin);
  CHECK(error_code(bin->json().as_object()) == "MALFORMED_FRAME");
  // Still serving; a ping is answered.
  CHECK(subscribe(ws, 1) > 0);
  CHECK(ws.answer(ws.request({{"ping", json::object{}}})).contains("pong"));
  // Over http.ws_max_message_bytes: closed with 1009 (message too big).
  ws.send(std::string(8192, ' '));
  CHECK_FALSE(ws.read(5s));
  CHECK(ws.closed());
  CHECK(ws.close_code() == 1009);
  // Text that is not UTF-8: closed with 1007 (invalid payload).
  ws_client garbled(b.http_port());
  garbled.send("\xc3\x28");
  CHECK_FALSE(garbled.read(5s));
  CHECK(garbled.closed());
  CHECK(garbled.close_code() == 1007);
  // Not an upgrade, an unknown format: 400 with a message.
  auto plain = http_call(b.http_port(), "GET", "/v1/ws");
  CHECK(plain.status == 400);
  CHECK(plain.error_code() == "INVALID_ARGUMENT");
  ws_client odd(b.http_port(), "/v1/ws?format=xml");
  CHECK(odd.refused().starts_with("400"));
}

TEST_CASE("pings keep a reading client, and a silent one is closed at the idle timeout", "[ws]") {
  broker_process b({"--set", "http.ws_idle_timeout_ms=400"});
  auto c = orders_and_audit(b);
  ws_client reader(b.http_port());
  ws_client silent(b.http_port());
  subscribe(reader, 1);
  // The reader reads (and so answers pings) for three idle timeouts.
  const auto until = std::chrono::steady_clock::now() + 1200ms;
  while (std::chrono::steady_clock::now() < until)
    CHECK_FALSE(reader.read(50ms));
  CHECK_FALSE(reader.closed());
  publish(*c, "orders", "still there");
  CHECK(reader.next_deliver(2s));
  // The silent one never read: its pings went unanswered.
  CHECK_FALSE(silent.read(2s));
  CHECK(silent.closed());
}

TEST_CASE("a client that stops reading is cut off and its deliveries go to others", "[ws]") {
  broker_process b(
      {"--set", "http.ws_write_timeout_ms=500", "--set", "http.ws_max_outbound_bytes=1048576"});
  auto c = orders_and_audit(b);
  const std::string body(16 << 10, 'x');
  constexpr int count = 400;  // 6.4 MiB: more than the socket buffers hold
  ws_client stuck(b.http_port());
  subscribe(stuck, 100'000);
  for (int i = 0; i < count; ++i)
    publish(*c, "orders", body);
  // The broker goes on serving others meanwhile.
  auto other = connect(b);
  create_topic(*other, "pings");
  publish(*other, "pings", "pong");
  // Once cut off, every message reaches a consumer that reads, none lost.
  auto reader = attach(*c, "audit", 1000);
  std::set<uint64_t> ids;
  const auto until = std::chrono::steady_clock::now() + 15s;
  while (ids.size() < count && std::chrono::steady_clock::now() < until) {
    auto d = reader.next(1s);
    if (!d) continue;
    REQUIRE(payload(*d) == body);
    REQUIRE_FALSE(reader.ack(*d));
    ids.insert(d->delivery_id() >> 20);
  }
  CHECK(ids.size() == count);
  // Long before its leases (30 s) ran out: it was cut off, not waited for.
  while (stuck.read(2s)) {
  }
  CHECK(stuck.closed());
  const auto metrics = http_call(b.http_port(), "GET", "/metrics").body;
  CHECK(metrics.find("\nferry_websocket_cut_off_total 1\n") != std::string::npos);
}

TEST_CASE("a broker that stops closes its WebSockets with 1001 and exits cleanly", "[ws]") {
  broker_process b;
  auto c = orders_and_audit(b);
  publish(*c, "orders", "in flight at the stop");
  ws_client ws(b.http_port());
  subscribe(ws, 10);
  REQUIRE(deliveries_until_quiet(ws, 300ms).size() == 1);
  c.reset();
  // The client answers the close handshake (it reads) while ferryd stops: no waiting for
  // shutdown.grace_ms (8 s), which only a client that reads nothing costs.
  const auto began = std::chrono::steady_clock::now();
  int status = -2;
  std::thread stopper([&] { status = b.stop(); });
  CHECK_FALSE(ws.read(5s));
  stopper.join();
  CHECK(status == 0);
  CHECK(std::chrono::steady_clock::now() - began < 4s);
  CHECK(ws.closed());
  CHECK(ws.close_code() == 1001);
}

TEST_CASE("a client that sends requests and never reads is cut off at its outbound limit", "[ws]") {
  broker_process b(
      {"--set", "http.ws_max_outbound_bytes=65536", "--set", "http.ws_write_timeout_ms=60000"});
  auto c = orders_and_audit(b);
  ws_client stuck(b.http_port());
  subscribe(stuck, 100'000);
  const std::string body(16 << 10, 'x');
  for (int i = 0; i < 300; ++i)  // 4.7 MiB: the socket buffers fill, deliveries pause
    publish(*c, "orders", body);
  // Requests whose answers pile up unread: past 64 KiB unsent, the client is cut off (which
  // may happen while it is still sending: its socket is then reset).
  try {
    for (int i = 0; i < 3000; ++i)
      stuck.send(R"({"id":1,"ping":{}})");
  } catch (const std::exception&) {
  }
  const auto until = std::chrono::steady_clock::now() + 10s;
  std::string metrics;
  while (std::chrono::steady_clock::now() < until) {
    metrics = http_call(b.http_port(), "GET", "/metrics").body;
    if (metrics.find("\nferry_websocket_cut_off_total 1\n") != std::string::npos) break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(metrics.find("\nferry_websocket_cut_off_total 1\n") != std::string::npos);
  // Its deliveries went back: a reader gets all 300, and the broker serves on.
  auto reader = attach(*c, "audit", 1000);
  size_t got = 0;
  while (got < 300) {
    auto d = reader.next(5s);
    REQUIRE(d);
    REQUIRE_FALSE(reader.ack(*d));
    ++got;
  }
}

TEST_CASE("a shared subscription on a log topic over a WebSocket: records named, acks stored",
          "[ws][shares]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "orders", 2);
  create_subscription(*c, "audit", "orders");
  for (int i = 0; i < 6; ++i)
    REQUIRE(c->publish("orders", keyed("k" + std::to_string(i), "r" + std::to_string(i))));
  std::set<std::pair<uint64_t, uint64_t>> positions;
  {
    ws_client ws(b.http_port());
    const uint64_t consumer = subscribe(ws, 10);
    auto got = deliveries_until_quiet(ws, 500ms);
    REQUIRE(got.size() == 6);
    std::vector<uint64_t> ids;
    for (const auto& d : got) {
      positions.emplace(d.at("partition").to_number<uint64_t>(),
                        d.at("offset").to_number<uint64_t>());
      ids.push_back(id_of(d));
    }
    auto ok = settle(ws, "ack", consumer, ids);
    INFO(json::serialize(ok));
    CHECK(ok.at("settle_ok").at("settled") == 6);  // answered once the acks are stored
  }
  CHECK(positions.size() == 6);  // six different records
  b.kill_hard();
  b.restart();
  ws_client again(b.http_port());
  subscribe(again, 10);
  CHECK(deliveries_until_quiet(again, 500ms).empty());  // acked: never again
}
