// Push subscriptions against a real ferryd and a real HTTP handler (tests/support/
// push_handler.h): each message POSTed as a CloudEvent and acked by a 2xx; failures
// retried with backoff, Retry-After honoured, timeouts and a handler that is down;
// dead-lettering after max_deliveries with the reason; the handler never holding more
// than max_in_flight at once; the definition surviving a restart; bad definitions refused.
#include <chrono>
#include <stdexcept>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/http_client.h"
#include "tests/support/push_handler.h"
#include "tests/support/test_certs.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;
namespace v1 = ferry::v1;

namespace {

v1::PushEndpoint endpoint(const push_handler& h, uint32_t min_backoff_ms = 100) {
  v1::PushEndpoint e;
  e.set_url(h.url());
  e.set_min_backoff_ms(min_backoff_ms);
  e.set_max_backoff_ms(2000);
  e.set_timeout_ms(2000);
  return e;
}

// A memory topic `orders` and a push subscription `audit` on it.
void push_subscription(fc::blocking_client& c, const v1::PushEndpoint& e,
                       uint32_t max_deliveries = 0, const std::string& dead_letters = {}) {
  create_topic(c, "orders");
  v1::SubscriptionOptions o;
  o.set_max_deliveries(max_deliveries);
  o.set_dead_letter_topic(dead_letters);
  *o.mutable_push() = e;
  create_subscription(c, "audit", "orders", o);
}

v1::SubscriptionInfo describe(fc::blocking_client& c, const std::string& name = "audit") {
  auto r = c.describe_subscription(name);
  if (!r) FAIL("describe " << name << ": " << r.err().to_string());
  return r.value();
}

// Waits until the subscription has nothing ready or in flight (everything acked).
void wait_settled(fc::blocking_client& c, uint64_t acked) {
  const auto until = std::chrono::steady_clock::now() + 10s;
  v1::SubscriptionInfo s;
  do {
    s = describe(c);
    if (s.acked() >= acked && s.unacked() == 0 && s.ready() == 0) return;
    std::this_thread::sleep_for(20ms);
  } while (std::chrono::steady_clock::now() < until);
  FAIL("not settled: acked " << s.acked() << ", unacked " << s.unacked() << ", ready "
                             << s.ready());
}

ms gap(const push_handler::request& a, const push_handler::request& b) {
  return std::chrono::duration_cast<ms>(b.at - a.at);
}

// A handler policy: 200, after `delay`.
push_handler::policy answering_after(ms delay) {
  return [delay](const push_handler::request&, size_t) {
    push_handler::answer a;
    a.delay = delay;
    return a;
  };
}

// Points `audit` at another endpoint (SetSubscriptionPush).
void repoint(fc::blocking_client& c, const v1::PushEndpoint& e) {
  v1::SetSubscriptionPush change;
  change.set_name("audit");
  *change.mutable_push() = e;
  REQUIRE(c.set_subscription_push(change));
}

// `audit`'s push statistics once a request to its endpoint has failed (or 5 s passed).
v1::PushStats after_a_failure(fc::blocking_client& c) {
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (describe(c).push().failed() == 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::sleep_for(20ms);
  return describe(c).push();
}

}  // namespace

TEST_CASE("push: each message is POSTed as a CloudEvent and a 2xx acks it", "[push]") {
  push_handler handler;
  broker_process b;
  auto c = connect(b);
  push_subscription(*c, endpoint(handler));
  fc::message m("hello");
  m.id = "o-1";
  m.source = "/shop";
  m.type = "order.placed";
  m.content_type = "text/plain";
  REQUIRE(c->publish("orders", m));
  publish(*c, "orders", "no attributes");
  REQUIRE(handler.wait_for(2));
  wait_settled(*c, 2);
  auto seen = handler.requests();  // sent at once, on two connections: in either order
  if (seen[0].body != "hello") std::swap(seen[0], seen[1]);
  CHECK(seen[0].target == "/events");
  CHECK(seen[0].header("ce-specversion") == "1.0");
  CHECK(seen[0].header("ce-id") == "o-1");
  CHECK(seen[0].header("ce-source") == "/shop");
  CHECK(seen[0].header("ce-type") == "order.placed");
  CHECK(seen[0].header("content-type") == "text/plain");
  CHECK(seen[0].header("ferry-delivery-count") == "1");
  CHECK(seen[0].body == "hello");
  // Without the attributes: the subscription and sequence, the topic, ferry.message.
  CHECK(seen[1].header("ce-id").starts_with("audit/"));
  CHECK(seen[1].header("ce-source") == "/topics/orders");
  CHECK(seen[1].header("ce-type") == "ferry.message");
  auto s = describe(*c);
  CHECK(s.options().push().url() == handler.url());
  CHECK(s.push().succeeded() == 2);
  CHECK(s.push().failed() == 0);
  CHECK(s.push().last_status() == 200);
  CHECK(s.push().in_flight() == 0);

  // Structured mode: the event as JSON.
  auto structured = endpoint(handler);
  structured.set_structured(true);
  repoint(*c, structured);
  REQUIRE(c->publish("orders", m));
  REQUIRE(handler.wait_for(3));
  auto third = handler.requests()[2];
  CHECK(third.header("content-type") == "application/cloudevents+json");
  CHECK(third.body.find(R"("id":"o-1")") != std::string::npos);
  CHECK(third.body.find(R"("data":"hello")") != std::string::npos);
}

TEST_CASE("push: a failure is retried with backoff, and 503's Retry-After is honoured", "[push]") {
  // 500, 500, then 200 for the first message; 503 with Retry-After: 1 then 200 for the second.
  push_handler handler([](const push_handler::request& r, size_t i) {
    push_handler::answer a;
    if (r.body == "first" && i < 2) a.status = 500;
    if (r.body == "second" && r.header("ferry-delivery-count") == "1") {
      a.status = 503;
      a.retry_after = "1";
    }
    return a;
  });
  broker_process b;
  auto c = connect(b);
  push_subscription(*c, endpoint(handler, 200));
  publish(*c, "orders", "first");
  REQUIRE(handler.wait_for(3));
  wait_settled(*c, 1);
  auto seen = handler.requests();
  CHECK(seen[0].header("ferry-delivery-count") == "1");
  CHECK(seen[1].header("ferry-delivery-count") == "2");
  CHECK(seen[2].header("ferry-delivery-count") == "3");
  // Backoff with jitter: between half and all of 200 ms, then of 400 ms.
  CHECK(gap(seen[0], seen[1]) >= 90ms);
  CHECK(gap(seen[1], seen[2]) >= 190ms);
  auto s = describe(*c);
  CHECK(s.push().failed() == 2);
  CHECK(s.push().succeeded() == 1);
  CHECK(s.push().last_error().starts_with("HTTP 500"));
  CHECK(s.redelivered() == 2);

  publish(*c, "orders", "second");
  REQUIRE(handler.wait_for(5));
  wait_settled(*c, 2);
  seen = handler.requests();
  CHECK(seen[4].header("ferry-delivery-count") == "2");
  CHECK(gap(seen[3], seen[4]) >= 950ms);  // Retry-After: 1, not the 200 ms backoff
}

TEST_CASE("push: a handler that times out or is down is dead-lettered after max_deliveries",
          "[push]") {
  push_handler slow(answering_after(1500ms));
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "dead");
  create_subscription(*c, "dead.letters", "dead");
  auto dlq = attach(*c, "dead.letters");
  auto e = endpoint(slow, 50);
  e.set_timeout_ms(300);
  push_subscription(*c, e, 2, "dead");
  publish(*c, "orders", "too slow");
  auto d = next(dlq, 10s);
  CHECK(payload(d) == "too slow");
  CHECK(d.header("ferry-dead-letter-reason") == "max_deliveries");
  const std::string detail(d.header("ferry-dead-letter-detail").value_or(""));
  CHECK(detail.find("failed 2 times") != std::string::npos);
  CHECK(detail.find("no answer within 300 ms") != std::string::npos);
  CHECK(d.header("ferry-delivery-count") == "2");
  REQUIRE_FALSE(dlq.ack(d));

  // Down: nothing listens on the port any more.
  uint16_t closed_port;
  {
    push_handler gone;
    closed_port = gone.port();
  }
  e.set_url("http://127.0.0.1:" + std::to_string(closed_port) + "/x");
  repoint(*c, e);
  publish(*c, "orders", "nobody home");
  d = next(dlq, 10s);
  CHECK(payload(d) == "nobody home");
  const std::string refused(d.header("ferry-dead-letter-detail").value_or(""));
  CHECK(refused.find("connecting 127.0.0.1:") != std::string::npos);
  CHECK(describe(*c).push().last_error().find("refused") != std::string::npos);
}

TEST_CASE("push: the handler never holds more than max_in_flight requests", "[push]") {
  push_handler handler(answering_after(100ms));
  broker_process b;
  auto c = connect(b);
  auto e = endpoint(handler);
  e.set_max_in_flight(4);
  push_subscription(*c, e);
  for (int i = 0; i < 24; ++i)
    publish(*c, "orders", "m" + std::to_string(i));
  REQUIRE(handler.wait_for(24));
  wait_settled(*c, 24);
  CHECK(handler.max_concurrent() == 4);
  CHECK(handler.count() == 24);  // each once: no 2xx was lost
}

TEST_CASE("push: the endpoint survives a restart, REST sets and removes it, bad ones are refused",
          "[push]") {
  push_handler handler;
  broker_process b;
  const uint16_t port = b.http_port();
  {
    auto c = connect(b);
    create_topic(*c, "orders");
    create_subscription(*c, "audit", "orders");
  }
  auto put = [&](const std::string& body) {
    return http_call(port, "PUT", "/v1/subscriptions/audit/push", body,
                     {{"Content-Type", "application/json"}});
  };
  auto r = put(R"({"url": ")" + handler.url() + R"(", "max_in_flight": 2})");
  REQUIRE(r.status == 200);
  CHECK(r.json().at("options").at("push").at("max_in_flight") == 2);
  CHECK(put(R"({"url": "ftp://x/"})").status == 400);
  CHECK(put(R"({"url": "http://user:pw@example.com/"})").status == 400);  // in a header
  CHECK(put(R"({"url": "http://h/", "headers": [{"name": "bad name", "value": "v"}]})")
            .error_code() == "INVALID_ARGUMENT");
  for (const char* reserved : {"Content-Length", "host", "ce-id", "Ferry-Delivery-Count"})
    CHECK(put(R"({"url": "http://h/", "headers": [{"name": ")" + std::string(reserved) +
              R"(", "value": "1"}]})")
              .error_code() == "INVALID_ARGUMENT");
  CHECK(http_call(port, "PUT", "/v1/subscriptions/nope/push", R"({"url": "http://h/"})")
            .error_code() == "SUBSCRIPTION_NOT_FOUND");

  b.restart();
  auto c = connect(b);
  publish(*c, "orders", "after restart");
  REQUIRE(handler.wait_for(1));
  CHECK(handler.requests()[0].body == "after restart");
  wait_settled(*c, 1);

  // Removed: messages wait for a consumer again.
  REQUIRE(http_call(b.http_port(), "DELETE", "/v1/subscriptions/audit/push").status == 200);
  publish(*c, "orders", "pulled");
  auto sub = attach(*c, "audit");
  CHECK(payload(next(sub)) == "pulled");
  CHECK(handler.count() == 1);
}

TEST_CASE("push: a handler that hangs holds only its own deliveries while the broker serves others",
          "[push]") {
  push_handler hanging(answering_after(1500ms));
  broker_process b;
  auto c = connect(b);
  auto e = endpoint(hanging);
  e.set_max_in_flight(2);
  push_subscription(*c, e);  // `audit` on `orders`, POSTing to the hanging handler
  create_subscription(*c, "billing", "orders");
  auto billing = attach(*c, "billing", 100);
  const auto start = std::chrono::steady_clock::now();
  for (int i = 0; i < 200; ++i)
    publish(*c, "orders", "m" + std::to_string(i));
  for (int i = 0; i < 200; ++i) {
    auto d = next(billing);
    REQUIRE_FALSE(billing.ack(d));
  }
  // Everything published and consumed elsewhere while the handler still holds its first two.
  CHECK(std::chrono::steady_clock::now() - start < 1500ms);
  CHECK(hanging.count() == 2);
  auto s = describe(*c);
  CHECK(s.push().in_flight() == 2);
  CHECK(s.ready() == 198);
}

TEST_CASE("push: https endpoints are verified: the CA of push.ca_file, and the name", "[push]") {
  push_handler secure({}, {test_cert("server.pem"), test_cert("server.key")});
  push_handler wrong_name({}, {test_cert("wronghost.pem"), test_cert("wronghost.key")});
  broker_process b({"--set", "push.ca_file=" + test_cert("ca.pem")});
  auto c = connect(b);
  auto e = endpoint(secure);
  REQUIRE(e.url().starts_with("https://127.0.0.1:"));
  push_subscription(*c, e, 2);
  publish(*c, "orders", "over TLS");
  REQUIRE(secure.wait_for(1));
  CHECK(secure.requests()[0].body == "over TLS");
  wait_settled(*c, 1);

  // A certificate for another name: no request reaches the handler.
  repoint(*c, endpoint(wrong_name));
  publish(*c, "orders", "not to example.com");
  const auto s = after_a_failure(*c);
  CHECK(s.failed() >= 1);
  CHECK(s.last_error().find("TLS handshake") != std::string::npos);
  CHECK(wrong_name.count() == 0);

  // A broker trusting another CA refuses the right name too.
  broker_process other({"--set", "push.ca_file=" + test_cert("ca2.pem")});
  auto c2 = connect(other);
  push_subscription(*c2, endpoint(secure), 2);
  publish(*c2, "orders", "untrusted");
  CHECK(after_a_failure(*c2).last_error().find("certificate verify failed") != std::string::npos);
  CHECK(secure.count() == 1);
}
