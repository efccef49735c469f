// The REST admin API and /metrics against a real ferryd: what HTTP creates the wire
// protocol sees and the other way round, and the numbers move as messages flow.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/http_client.h"

using namespace ferry::testing;
namespace json = boost::json;

namespace {

std::string scrape(const broker_process& b) {
  auto r = http_call(b.http_port(), "GET", "/metrics");
  REQUIRE(r.status == 200);
  CHECK(r.header("Content-Type").find("text/plain; version=0.0.4") == 0);
  return r.body;
}

}  // namespace

TEST_CASE("REST: topics and subscriptions are created, listed, described and deleted", "[http]") {
  broker_process b;
  const uint16_t port = b.http_port();
  auto created =
      http_call(port, "POST", "/v1/topics", R"({"name": "orders.eu", "kind": "memory"})");
  REQUIRE(created.status == 201);
  CHECK(created.json().at("name") == "orders.eu");
  CHECK(created.json().at("kind") == "memory");
  auto log = http_call(port, "POST", "/v1/topics",
                       R"({"name": "events", "kind": "log", "options": {"partitions": 3}})");
  REQUIRE(log.status == 201);
  CHECK(log.json().at("partitions").as_array().size() == 3);
  CHECK(http_call(port, "POST", "/v1/topics", R"({"name": "events"})").error_code() ==
        "TOPIC_EXISTS");
  CHECK(http_call(port, "POST", "/v1/topics",
                  R"({"name": "events", "kind": "log", "options": )"
                  R"({"partitions": 3}, "if_not_exists": true})")
            .status == 201);

  auto sub =
      http_call(port, "POST", "/v1/subscriptions", R"({"name": "billing", "pattern": "orders.*"})");
  REQUIRE(sub.status == 201);
  CHECK(sub.json().at("pattern") == "orders.*");

  // The wire protocol sees what HTTP made, and publishes into it.
  auto c = connect(b);
  ferry::client::message m;
  m.payload = "hello";
  REQUIRE(c->publish("orders.eu", m));
  REQUIRE(c->publish("orders.eu", m));

  auto list = http_call(port, "GET", "/v1/topics");
  REQUIRE(list.status == 200);
  CHECK(list.json().at("topics").as_array().size() == 2);
  auto one = http_call(port, "GET", "/v1/topics?pattern=orders.%2A");
  CHECK(one.json().at("topics").as_array().size() == 1);
  auto topic = http_call(port, "GET", "/v1/topics/orders.eu").json();
  CHECK(topic.at("messages_published") == 2);
  CHECK(topic.at("subscriptions").as_array().at(0) == "billing");
  auto described = http_call(port, "GET", "/v1/subscriptions/billing").json();
  CHECK(described.at("ready") == 2);
  CHECK(http_call(port, "GET", "/v1/subscriptions?pattern=orders.eu")
            .json()
            .at("subscriptions")
            .as_array()
            .size() == 1);
}

TEST_CASE("REST: deletions, refusals and groups", "[http]") {
  broker_process b;
  const uint16_t port = b.http_port();
  REQUIRE(http_call(port, "POST", "/v1/topics", R"({"name": "orders.eu"})").status == 201);
  REQUIRE(
      http_call(port, "POST", "/v1/subscriptions", R"({"name": "billing", "pattern": "orders.*"})")
          .status == 201);
  auto gone = http_call(port, "DELETE", "/v1/subscriptions/billing");
  CHECK(gone.status == 200);
  CHECK(gone.json().at("deleted") == true);
  CHECK(http_call(port, "GET", "/v1/subscriptions/billing").error_code() ==
        "SUBSCRIPTION_NOT_FOUND");
  CHECK(http_call(port, "DELETE", "/v1/topics/orders.eu").json().at("deleted") == true);
  CHECK(http_call(port, "DELETE", "/v1/topics/orders.eu").status == 404);
  CHECK(http_call(port, "DELETE", "/v1/topics/orders.eu?if_exists=true").json().at("deleted") ==
        false);
  CHECK(http_call(port, "DELETE", "/v1/topics/x?if_exists=maybe").status == 400);
  CHECK(http_call(port, "POST", "/v1/topics", R"({"name": "t", "options": {"temporary": true}})")
            .status == 400);
  CHECK(http_call(port, "GET", "/v1/groups").json().at("groups").as_array().empty());
  CHECK(http_call(port, "GET", "/v1/groups/nobody").error_code() == "GROUP_NOT_FOUND");
}

TEST_CASE("/metrics: counters move with traffic and promtool accepts the scrape", "[http]") {
  broker_process b;
  const uint16_t port = b.http_port();
  REQUIRE(http_call(port, "POST", "/v1/topics", R"({"name": "orders", "kind": "memory"})").status ==
          201);
  REQUIRE(http_call(port, "POST", "/v1/subscriptions", R"({"name": "audit", "pattern": "orders"})")
              .status == 201);
  REQUIRE(http_call(port, "POST", "/v1/topics",
                    R"({"name": "events", "kind": "log", "options": {"partitions": 2}})")
              .status == 201);
  auto c = connect(b);
  ferry::client::message m;
  m.payload = std::string(100, 'x');
  for (int i = 0; i < 5; ++i)
    REQUIRE(c->publish("orders", m));
  for (int i = 0; i < 3; ++i)
    REQUIRE(c->publish("events", m));

  const std::string text = scrape(b);
  CHECK(metric_sample(
            text, R"(ferry_topic_messages_published_total{topic="orders",kind="memory"})") == 5);
  CHECK(metric_sample(text, R"(ferry_topic_messages_published_total{topic="events",kind="log"})") ==
        3);
  CHECK(metric_sample(text, R"(ferry_subscription_messages_ready{subscription="audit"})") == 5);
  CHECK(metric_sample(text, R"(ferry_log_records_appended_total)") == 3);
  CHECK(metric_sample(text, R"(ferry_log_publish_confirm_seconds_count)") == 3);
  CHECK(metric_sample(text, R"(ferry_storage_fsync_seconds_count)") >= 1);
  CHECK(metric_sample(text, R"(ferry_connections)") == 1);
  CHECK(metric_sample(text, R"(ferry_requests_total{kind="Publish"})") == 8);
  // The handshake and 8 publishes each way, at least (a frame is counted once written).
  CHECK(metric_sample(text, R"(ferry_frames_received_total)") >= 9);
  CHECK(metric_sample(text, R"(ferry_frames_sent_total)") >= 9);
  CHECK(metric_sample(text, R"(ferry_build_info{version="0.1.0"})") == 1);
  CHECK(metric_sample(text, "process_resident_memory_bytes") > 0);
  double end = metric_sample(text, R"(ferry_log_end_offset{topic="events",partition="0"})") +
               metric_sample(text, R"(ferry_log_end_offset{topic="events",partition="1"})");
  CHECK(end == 3);

  // Debian's promtool, offline: exit 0 means no parse error and no lint finding.
  const std::string file = b.data_dir() + "/scrape.txt";
  std::ofstream(file) << text;
  const int rc =
      std::system(("promtool check metrics < " + file + " > " + file + ".out 2>&1").c_str());
  std::ifstream out(file + ".out");
  std::string findings((std::istreambuf_iterator<char>(out)), {});
  INFO(findings);
  CHECK(rc == 0);
}

TEST_CASE("/metrics names the first metrics.max_topics topics and sums the rest", "[http]") {
  broker_process b({"--set", "metrics.max_topics=2"});
  auto c = connect(b);
  for (const char* t : {"a", "b", "c", "d"}) {
    create_topic(*c, t);
    ferry::client::message m;
    m.payload = "x";
    REQUIRE(c->publish(t, m));
  }
  const std::string text = scrape(b);
  CHECK(metric_sample(text, R"(ferry_topic_messages_published_total{topic="a",kind="memory"})") ==
        1);
  CHECK(metric_sample(text, R"(ferry_topic_messages_published_total{topic="b",kind="memory"})") ==
        1);
  CHECK(metric_sample(text, R"(ferry_topic_messages_published_total{topic="c",kind="memory"})") ==
        -1);
  CHECK(metric_sample(
            text, R"(ferry_topic_messages_published_total{topic="~other",kind="memory"})") == 2);
}

TEST_CASE("/metrics takes more topics and subscriptions than one page, each once, in order",
          "[http]") {
  broker_process b({"--set", "metrics.max_topics=1000"});
  auto c = connect(b);
  // More than a page (256) of each, so the snapshot spans loop turns.
  constexpr int topics = 600, subs = 300;
  char name[16];
  for (int i = 0; i < topics; ++i) {
    std::snprintf(name, sizeof name, "t%04d", i);
    create_topic(*c, name);
  }
  for (int i = 0; i < subs; ++i) {
    std::snprintf(name, sizeof name, "s%04d", i);
    create_subscription(*c, name, "t0000");
  }
  ferry::client::message m;
  m.payload = "x";
  REQUIRE(c->publish("t0599", m));
  const std::string text = scrape(b);
  auto count = [&](const std::string& prefix) {
    size_t n = 0;
    for (size_t at = 0; (at = text.find("\n" + prefix, at)) != std::string::npos; ++at)
      ++n;
    return n;
  };
  CHECK(count("ferry_topic_messages_published_total{") == topics);
  CHECK(count("ferry_subscription_consumers{") == subs);
  CHECK(metric_sample(text,
                      R"(ferry_topic_messages_published_total{topic="t0599",kind="memory"})") == 1);
  CHECK(metric_sample(text, R"(ferry_subscription_consumers{subscription="s0299"})") == 0);
  CHECK(text.find("~other") == std::string::npos);
}

TEST_CASE("REST describe shows publish, delivery and ack rates per second", "[http]") {
  broker_process b;
  auto c = connect(b);
  create_topic(*c, "rated");
  create_subscription(*c, "rated.sub", "rated");
  const auto start = std::chrono::steady_clock::now();
  auto consumer = attach(*c, "rated.sub");
  for (int i = 0; i < 100; ++i)
    publish(*c, "rated", "0123456789");
  for (int i = 0; i < 100; ++i)
    REQUIRE_FALSE(consumer.ack(next(consumer)));
  // The meters take a new sample once 5 s have passed since the last (here: creation).
  std::this_thread::sleep_until(start + std::chrono::milliseconds(5200));
  auto topic = http_call(b.http_port(), "GET", "/v1/topics/rated");
  REQUIRE(topic.status == 200);
  const double rate = topic.json().at("publish_rate").to_number<double>();
  CHECK(rate > 100 / 6.0);
  CHECK(rate <= 100 / 5.0);
  // bytes_published counts encoded Message bytes, so the two rates keep its ratio.
  const double bytes = topic.json().at("bytes_published").to_number<double>();
  CHECK(topic.json().at("publish_bytes_rate").to_number<double>() == Approx(rate * bytes / 100));
  auto sub = http_call(b.http_port(), "GET", "/v1/subscriptions/rated.sub");
  REQUIRE(sub.status == 200);
  CHECK(sub.json().at("deliver_rate").to_number<double>() > 100 / 6.0);
  CHECK(sub.json().at("ack_rate").to_number<double>() > 100 / 6.0);
  // Bytes of the same messages: each delivered once and acked.
  CHECK(sub.json().at("delivered_bytes") == topic.json().at("bytes_published"));
  CHECK(sub.json().at("acked_bytes") == topic.json().at("bytes_published"));
  const std::string text = scrape(b);
  CHECK(metric_sample(text, R"(ferry_subscription_acked_bytes_total{subscription="rated.sub"})") ==
        bytes);
}
