// Publishing over HTTP against a real ferryd, read back through libferry: plain bodies and
// the JSON form with their options, retries recognised (Idempotency-Key, a CloudEvent's
// source and id, the JSON form's producer sequence), bad requests refused whole, and flow
// control: 503 with Retry-After over the memory high-water mark, a late answer over a
// publish quota.
#include <chrono>
#include <thread>

#include <boost/json/serialize.hpp>
#include <catch2/catch.hpp>

#include "tests/integration/log_client_helpers.h"
#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/http_client.h"

using namespace ferry::testing;
namespace json = boost::json;

namespace {

using header_list = std::vector<std::pair<std::string, std::string>>;

http_result post(const broker_process& b, const std::string& target, const std::string& body,
                 header_list headers) {
  return http_call(b.http_port(), "POST", target, body, std::move(headers));
}

uint64_t published(const broker_process& b, const std::string& topic) {
  auto r = http_call(b.http_port(), "GET", "/v1/topics/" + topic);
  REQUIRE(r.status == 200);
  return r.json().at("messages_published").to_number<uint64_t>();
}

std::string header_of(const fc::delivery& d, std::string_view key) {
  auto v = d.header(key);
  return v ? std::string(*v) : std::string("<none>");
}

}  // namespace

TEST_CASE("HTTP publish: a plain body is one message, with its type and the ferry-* options",
          "[http-publish]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "orders");
  create_subscription(*c, "billing", "orders");
  auto sub = attach(*c, "billing");

  auto r = post(b, "/v1/topics/orders/messages?ttl_ms=60000", R"({"total": 12})",
                {{"Content-Type", "application/json"}, {"ferry-key", "customer-7"}});
  REQUIRE(r.status == 201);
  CHECK(r.json().at("accepted") == 1);
  CHECK(r.json().at("subscriptions") == 1);
  auto d = next(sub);
  CHECK(payload(d) == R"({"total": 12})");
  CHECK(d.fields().content_type == "application/json");
  CHECK(d.key() == "customer-7");
  CHECK(d.fields().ttl_ms == 60000);
  REQUIRE_FALSE(sub.ack(d));

  // A CloudEvent in binary mode: the attributes are the message's fields.
  r = post(b, "/v1/topics/orders/messages", "hi",
           {{"ce-specversion", "1.0"},
            {"ce-id", "o-1"},
            {"ce-source", "/shop"},
            {"ce-type", "order.placed"},
            {"ce-subject", "order%2042"},
            {"ce-time", "2026-12-07T10:00:00Z"},
            {"ce-channel", "web"},
            {"Content-Type", "text/plain"}});
  REQUIRE(r.status == 201);
  d = next(sub);
  CHECK(d.fields().id == "o-1");
  CHECK(d.fields().source == "/shop");
  CHECK(d.fields().type == "order.placed");
  CHECK(d.fields().subject == "order 42");
  CHECK(d.fields().time_ms == 1796637600000);
  CHECK(d.fields().content_type == "text/plain");
  CHECK(header_of(d, "channel") == "web");
  CHECK(payload(d) == "hi");
  REQUIRE_FALSE(sub.ack(d));
}

TEST_CASE(
    "HTTP publish: a log topic answers with partitions and offsets, and so do the JSON form's "
    "sequences",
    "[http-publish]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "events", 2);

  // The JSON form: ferry.v1.Publish with a partition and the binary protocol's producer
  // sequence, so a retry of it is recognised as the binary protocol's would be.
  const std::string batch =
      R"({"producer_id": "p-1", "first_sequence": 1, "partition": 1, "messages": [)"
      R"({"payload": "YQ==", "key": "azE="}, {"payload": "Yg==", "headers": [{"key": "h", "value": "dg=="}]}]})";
  auto r = post(b, "/v1/topics/events/messages", batch,
                {{"Content-Type", "application/vnd.ferry.publish+json"}});
  REQUIRE(r.status == 201);
  CHECK(json::serialize(r.json().at("partitions")) == "[1,1]");
  CHECK(json::serialize(r.json().at("offsets")) == "[0,1]");
  r = post(b, "/v1/topics/events/messages", batch,
           {{"Content-Type", "application/vnd.ferry.publish+json"}});
  REQUIRE(r.status == 200);
  CHECK(r.json().at("duplicates") == 2);
  CHECK(json::serialize(r.json().at("offsets")) == "[0,1]");

  auto p1 = read_partition(*c, "events", 1, fc::position::earliest());
  auto m = p1.next(5s);
  REQUIRE(m);
  CHECK(payload(*m) == "a");
  CHECK(m->key() == "k1");
  m = p1.next(5s);
  REQUIRE(m);
  CHECK(header_of(*m, "h") == "v");
}

TEST_CASE("HTTP publish: an Idempotency-Key or an event's source and id make a retry store once",
          "[http-publish]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "events", 2);
  http_result r;

  // Idempotency-Key: the second POST is answered as the first was, and not stored.
  const header_list keyed_request{{"Content-Type", "text/plain"}, {"Idempotency-Key", "req-9"}};
  auto first = post(b, "/v1/topics/events/messages?partition=0", "once", keyed_request);
  REQUIRE(first.status == 201);
  auto second = post(b, "/v1/topics/events/messages?partition=0", "once", keyed_request);
  CHECK(second.status == 201);
  CHECK(second.body == first.body);
  CHECK(second.header("Idempotent-Replayed") == "true");
  CHECK(first.header("Idempotent-Replayed").empty());

  // The same key sent twice at once: one of them waits for the other's confirm.
  const header_list racing{{"Content-Type", "text/plain"}, {"Idempotency-Key", "req-10"}};
  http_result a, z;
  std::thread t([&] { a = post(b, "/v1/topics/events/messages?partition=0", "race", racing); });
  z = post(b, "/v1/topics/events/messages?partition=0", "race", racing);
  t.join();
  CHECK(a.status == 201);
  CHECK(z.status == 201);
  CHECK(a.json().at("offsets") == z.json().at("offsets"));

  // Events with the same source and id in one batch and across batches: stored once.
  const std::string ev1 = R"({"specversion":"1.0","id":"1","source":"/s","type":"t"})";
  const std::string ev2 = R"({"specversion":"1.0","id":"2","source":"/s","type":"t"})";
  const header_list ce_batch{{"Content-Type", "application/cloudevents-batch+json"}};
  r = post(b, "/v1/topics/events/messages?partition=0", "[" + ev1 + "," + ev1 + "]", ce_batch);
  REQUIRE(r.status == 201);
  CHECK(r.json().at("accepted") == 1);
  CHECK(r.json().at("duplicates") == 1);
  CHECK(json::serialize(r.json().at("offsets")) == "[2,2]");
  r = post(b, "/v1/topics/events/messages?partition=0", "[" + ev2 + "," + ev1 + "]", ce_batch);
  REQUIRE(r.status == 201);
  CHECK(json::serialize(r.json().at("offsets")) == "[3,2]");

  // What libferry reads: each message once.
  auto all = read_partition(*c, "events", 0, fc::position::earliest());
  std::vector<std::string> seen;
  for (const auto& rec : take(all, 4))
    seen.push_back(rec.payload);
  CHECK(seen == std::vector<std::string>{"once", "race", "", ""});
  CHECK_FALSE(all.next(300ms).has_value());
}

TEST_CASE("HTTP publish: bad requests get 4xx naming the problem, and nothing is stored",
          "[http-publish]") {
  broker_process b({"--set", "http.max_body_bytes=2048", "--set", "limits.max_message_bytes=512"});
  auto c = connect(b);
  create_log_topic(*c, "events", 1);
  const header_list text{{"Content-Type", "text/plain"}};

  auto r = post(b, "/v1/topics/no.such/messages", "x", text);
  CHECK(r.status == 404);
  CHECK(r.error_code() == "TOPIC_NOT_FOUND");
  r = post(b, "/v1/topics/bad%20name/messages", "x", text);
  CHECK(r.status == 400);
  CHECK(r.error_code() == "INVALID_NAME");
  r = post(b, "/v1/topics/events/messages", std::string(4096, 'x'), text);
  CHECK(r.status == 413);
  CHECK(r.json().at("error").at("message").as_string().find("http.max_body_bytes") !=
        json::string::npos);
  // One message too large in a batch: the batch is refused whole.
  const std::string small = R"({"specversion":"1.0","id":"1","source":"/s","type":"t"})";
  const std::string big = R"({"specversion":"1.0","id":"2","source":"/s","type":"t","data":")" +
                          std::string(1000, 'y') + R"("})";
  r = post(b, "/v1/topics/events/messages", "[" + small + "," + big + "]",
           {{"Content-Type", "application/cloudevents-batch+json"}});
  CHECK(r.status == 413);
  CHECK(r.json().at("error").at("message").as_string().starts_with("message 1 is"));
  r = post(b, "/v1/topics/events/messages?partition=one", "x", text);
  CHECK(r.status == 400);
  CHECK(r.json().at("error").at("message").as_string().starts_with("ferry-partition"));
  r = post(b, "/v1/topics/events/messages?partition=7", "x", text);
  CHECK(r.status == 404);
  CHECK(r.error_code() == "PARTITION_NOT_FOUND");
  r = post(b, "/v1/topics/events/messages", R"({"messages": [{"payload": "not base64!"}]})",
           {{"Content-Type", "application/vnd.ferry.publish+json"}});
  CHECK(r.status == 400);
  r = post(b, "/v1/topics/events/messages", small,
           {{"Content-Type", "application/cloudevents+json"}, {"ce-specversion", "1.0"}});
  CHECK(r.status == 400);  // binary mode (ce-specversion) without the other attributes
  CHECK(published(b, "events") == 0);
  // The connection-level guards still hold: a refused request leaves the broker serving.
  CHECK(post(b, "/v1/topics/events/messages", "ok", text).status == 201);
}

TEST_CASE("HTTP publish: 503 with Retry-After over the memory high-water mark", "[http-publish]") {
  broker_process b({"--set", "memory_topics.memory_high_watermark_bytes=1048576"});
  auto c = connect(b);
  create_topic(*c, "backlog");
  create_subscription(*c, "nobody", "backlog");
  const std::string chunk(400 * 1024, 'z');
  http_result r;
  int accepted = 0;
  for (int i = 0; i < 10; ++i) {
    r = post(b, "/v1/topics/backlog/messages", chunk, {{"Content-Type", "text/plain"}});
    if (r.status != 201) break;
    ++accepted;
  }
  REQUIRE(r.status == 503);
  CHECK(r.error_code() == "FLOW_BLOCKED");
  CHECK(r.header("Retry-After") == "1");
  CHECK(accepted >= 2);
  // Draining the queue below the low-water mark lets publishes in again.
  auto sub = attach(*c, "nobody", 100, true);
  for (int i = 0; i < accepted; ++i)
    next(sub);
  const auto until = std::chrono::steady_clock::now() + 5s;
  while (std::chrono::steady_clock::now() < until) {
    r = post(b, "/v1/topics/backlog/messages", "small", {{"Content-Type", "text/plain"}});
    if (r.status == 201) break;
    std::this_thread::sleep_for(50ms);
  }
  CHECK(r.status == 201);
}

TEST_CASE("HTTP publish: over a publish quota, the answer comes late and nothing is dropped",
          "[http-publish]") {
  broker_process b({"--set", "quotas.publish_messages_per_second=10"});
  auto c = connect(b);
  create_log_topic(*c, "metered", 1);
  std::string batch = R"({"messages": [)";
  for (int i = 0; i < 30; ++i)
    batch += std::string(i ? "," : "") + R"({"payload": "eA=="})";
  batch += "]}";
  const auto start = std::chrono::steady_clock::now();
  auto r = post(b, "/v1/topics/metered/messages", batch,
                {{"Content-Type", "application/vnd.ferry.publish+json"}});
  const auto waited = std::chrono::steady_clock::now() - start;
  REQUIRE(r.status == 201);
  CHECK(r.json().at("accepted") == 30);
  // 30 messages against a bucket of 10 at 10/s: 2 s of debt, paid before the answer.
  CHECK(waited >= 1500ms);
  CHECK(waited < 4500ms);
  CHECK(published(b, "metered") == 30);
}
