// ferryd's HTTP side against the real ferryd, through real HTTP (Beast, raw sockets):
// probes, errors, limits, keep-alive and pipelining, slow and vanishing clients, and the
// REST admin API on the same services as the wire protocol.
#include <thread>

#include <catch2/catch.hpp>
#include <signal.h>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/raw_client.h"

using namespace ferry::testing;
namespace json = boost::json;

namespace {

json::value field(const http_result& r, const char* name) {
  return r.json().as_object().at(name);
}

// /readyz, asked until `done(answer)` holds or `within` passes; the last answer.
template <typename Done>
http_result poll_readyz(const broker_process& b, Done done, std::chrono::milliseconds within) {
  http_result r;
  const auto deadline = std::chrono::steady_clock::now() + within;
  do {
    r = http_call(b.http_port(), "GET", "/readyz");
  } while (!done(r) && std::chrono::steady_clock::now() < deadline);
  return r;
}

}  // namespace

TEST_CASE("probes: /livez, /readyz and /version answer", "[http]") {
  broker_process b;
  auto live = http_call(b.http_port(), "GET", "/livez");
  CHECK(live.status == 200);
  CHECK(live.header("Content-Type") == "application/json");
  auto ready = http_call(b.http_port(), "GET", "/readyz");
  CHECK(ready.status == 200);
  CHECK(field(ready, "status") == "ready");
  auto version = http_call(b.http_port(), "GET", "/version");
  CHECK(version.status == 200);
  CHECK(field(version, "version").as_string().size() > 0);
  CHECK(field(version, "protocol_version") == 1);
}

TEST_CASE("every failure is a JSON error with the wire protocol's code", "[http]") {
  broker_process b;
  const uint16_t port = b.http_port();
  auto none = http_call(port, "GET", "/no/such/route");
  CHECK(none.status == 404);
  CHECK(none.error_code() == "UNKNOWN_REQUEST");

  auto method = http_call(port, "PUT", "/v1/topics");
  CHECK(method.status == 405);
  CHECK(method.error_code() == "UNKNOWN_REQUEST");
  CHECK(method.header("Allow") == "GET, POST");

  auto garbage = http_call(port, "POST", "/v1/topics", "{\"name\": ");
  CHECK(garbage.status == 400);
  CHECK(garbage.error_code() == "INVALID_ARGUMENT");

  auto unknown = http_call(port, "POST", "/v1/topics", R"({"name": "a", "colour": "red"})");
  CHECK(unknown.status == 400);
  CHECK(unknown.body.find("colour") != std::string::npos);

  auto type = http_call(port, "POST", "/v1/topics", R"({"name": 7})");
  CHECK(type.status == 400);
  CHECK(type.body.find("'name'") != std::string::npos);

  auto kind = http_call(port, "POST", "/v1/topics", R"({"name": "a", "kind": "queue"})");
  CHECK(kind.status == 400);
  CHECK(kind.body.find("memory, log") != std::string::npos);

  auto name = http_call(port, "POST", "/v1/topics", R"({"name": "bad name!"})");
  CHECK(name.status == 400);
  CHECK(name.error_code() == "INVALID_NAME");

  auto utf8 = http_call(port, "POST", "/v1/topics", "{\"name\": \"a\xff\"}");
  CHECK(utf8.status == 400);
  CHECK(utf8.error_code() == "INVALID_ARGUMENT");

  auto missing = http_call(port, "GET", "/v1/topics/nope");
  CHECK(missing.status == 404);
  CHECK(missing.error_code() == "TOPIC_NOT_FOUND");
}

TEST_CASE("oversized bodies and headers are refused, and the connection closes", "[http]") {
  broker_process b({"--set", "http.max_body_bytes=1024", "--set", "http.max_header_bytes=1024"});
  auto big = http_call(b.http_port(), "POST", "/v1/topics", std::string(4096, ' '));
  CHECK(big.status == 413);
  CHECK(big.error_code() == "FRAME_TOO_LARGE");
  CHECK(big.header("Connection") == "close");

  auto headers = http_call(b.http_port(), "GET", "/livez", "", {{"X-Big", std::string(2048, 'x')}});
  CHECK(headers.status == 431);
  CHECK(headers.error_code() == "FRAME_TOO_LARGE");

  http_connection garbage(b.http_port());
  garbage.send_raw("\x01\x02 not http at all\r\n\r\n");
  auto r = garbage.read_response();
  CHECK(r.status == 400);
  CHECK(r.error_code() == "MALFORMED_FRAME");
  CHECK(garbage.closed_by_peer());
  CHECK(http_call(b.http_port(), "GET", "/livez").status == 200);
}

TEST_CASE("keep-alive and pipelining: requests on one connection are answered in order", "[http]") {
  broker_process b;
  http_connection c(b.http_port());
  CHECK(c.call("GET", "/livez").status == 200);
  CHECK(c.call("GET", "/version").status == 200);
  c.send_raw(
      "GET /v1/topics/one HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /livez HTTP/1.1\r\nHost: x\r\n\r\n"
      "GET /no HTTP/1.1\r\nHost: x\r\n\r\n");
  CHECK(c.read_response().error_code() == "TOPIC_NOT_FOUND");
  CHECK(c.read_response().status == 200);
  CHECK(c.read_response().status == 404);
}

TEST_CASE("slow, idle and vanishing HTTP clients are closed while the broker serves on", "[http]") {
  broker_process b({"--set", "http.request_timeout_ms=300", "--set", "http.idle_timeout_ms=500"});
  http_connection slow(b.http_port());
  slow.send_raw("GET /livez HTTP/1.1\r\nHo");  // and nothing more
  {
    http_connection vanishing(b.http_port());
    vanishing.send_raw("POST /v1/topics HTTP/1.1\r\nContent-Length: 100\r\n\r\n{\"na");
  }
  http_connection idle(b.http_port());
  CHECK(idle.call("GET", "/livez").status == 200);

  // Meanwhile both listeners serve others.
  raw_client wire(b.host(), b.port());
  wire.handshake();
  CHECK(http_call(b.http_port(), "GET", "/readyz").status == 200);

  auto late = slow.read_response(std::chrono::seconds(3));
  CHECK(late.status == 408);
  CHECK(late.error_code() == "TIMEOUT");
  CHECK(idle.closed_by_peer(std::chrono::seconds(3)));
  ferry::v1::Frame ping;
  ping.set_correlation_id(9);
  ping.mutable_ping();
  CHECK(wire.request(ping).has_pong());
}

TEST_CASE("connections past http.max_connections are answered 503", "[http]") {
  broker_process b({"--set", "http.max_connections=2"});
  http_connection a(b.http_port()), c(b.http_port());
  CHECK(a.call("GET", "/livez").status == 200);
  CHECK(c.call("GET", "/livez").status == 200);
  http_connection third(b.http_port());
  auto r = third.read_response();
  CHECK(r.status == 503);
  CHECK(r.error_code() == "RESOURCE_EXHAUSTED");
}

TEST_CASE("ferryd without an HTTP listener serves the wire protocol alone", "[http]") {
  broker_process b({"--http", ""});
  CHECK(b.http_port() == 0);
  raw_client wire(b.host(), b.port());
  CHECK(wire.handshake().protocol_version() == 1);
}

TEST_CASE("/readyz says 503 with the reason while memory is over the high-water mark", "[http]") {
  broker_process b({"--set", "memory_topics.memory_high_watermark_bytes=1048576", "--set",
                    "memory_topics.memory_low_watermark_bytes=262144"});
  auto c = connect(b);
  create_topic(*c, "t");
  create_subscription(*c, "s", "t");
  for (int i = 0; i < 24; ++i)  // 1.5 MiB that nobody consumes, over the 1 MiB mark
    c->publish_async("t", ferry::client::message(std::string(64 * 1024, 'x')),
                     [](const ferry::error&, const ferry::client::publish_result&) {});
  auto r = poll_readyz(
      b, [](const http_result& a) { return a.status != 200; }, std::chrono::seconds(10));
  CHECK(r.status == 503);
  CHECK(field(r, "reason").as_string().find("memory") != std::string::npos);
  CHECK(http_call(b.http_port(), "GET", "/livez").status == 200);  // alive, not ready

  auto drain = connect(b);  // a consumer takes the messages: ready again
  auto w = attach(*drain, "s", 100, true);
  for (int i = 0; i < 24; ++i)
    REQUIRE(w.next(std::chrono::seconds(5)));
  r = poll_readyz(
      b, [](const http_result& a) { return a.status == 200; }, std::chrono::seconds(10));
  CHECK(r.status == 200);
}

TEST_CASE("/readyz says 503 while the broker drains after SIGTERM, /livez still answers",
          "[http]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "t");
  create_subscription(*c, "s", "t");
  // A consumer that never reads holds the drain open (up to its 5 s bound) with output the
  // broker cannot flush.
  raw_client sleepy(b.host(), b.port());
  sleepy.set_receive_buffer(4096);
  sleepy.handshake();
  ferry::v1::Frame sub;
  sub.mutable_subscribe()->set_subscription("s");
  sub.mutable_subscribe()->set_prefetch(100000);
  REQUIRE(sleepy.request(sub).has_subscribe_ok());
  std::vector<ferry::client::message> batch(16, ferry::client::message(std::string(65536, 'x')));
  for (int i = 0; i < 8; ++i)
    REQUIRE(c->publish_batch("t", batch));
  REQUIRE(http_call(b.http_port(), "GET", "/readyz").status == 200);

  ::kill(b.pid(), SIGTERM);
  auto r = poll_readyz(
      b, [](const http_result& a) { return a.status != 200; }, std::chrono::seconds(4));
  CHECK(r.status == 503);
  CHECK(field(r, "reason").as_string().find("draining") != std::string::npos);
  CHECK(http_call(b.http_port(), "GET", "/livez").status == 200);
  CHECK(b.stop(std::chrono::seconds(10)) == 0);  // and it still ends by itself, exit 0
}
