// Group offset reset and subscription purge against a real ferryd, through REST and
// through libferry (the wire protocol): the same services behind both.
#include <catch2/catch.hpp>

#include "tests/integration/log_client_helpers.h"
#include "tests/support/http_client.h"

using namespace ferry::testing;

namespace {

uint64_t offset_sum(const http_result& r) {
  uint64_t sum = 0;
  const auto doc = r.json();  // the loop below runs over it: not over a temporary
  for (const auto& o : doc.at("offsets").as_array())
    sum += o.at("offset").to_number<uint64_t>();
  return sum;
}

}  // namespace

TEST_CASE("reset-offsets moves an empty group to earliest, latest, an offset or a time", "[http]") {
  broker_process b;
  const uint16_t port = b.http_port();
  auto c = connect(b);
  create_log_topic(*c, "events", 2);
  for (int i = 0; i < 10; ++i) {
    auto m = keyed("", "r" + std::to_string(i));
    m.partition = static_cast<uint32_t>(i % 2);
    REQUIRE(c->publish("events", m));
  }
  const std::string path = "/v1/groups/g/reset-offsets";
  auto latest = http_call(port, "POST", path, R"({"topic": "events", "to": {"kind": "latest"}})");
  REQUIRE(latest.status == 200);
  CHECK(offset_sum(latest) == 10);
  CHECK(http_call(port, "GET", "/v1/groups/g").json().at("partitions").at(0).at("lag") == 0);
  auto one = http_call(port, "POST", path,
                       R"({"topic": "events", "to": {"kind": "offset", "value": 3},
                           "partitions": [0]})");
  REQUIRE(one.status == 200);
  CHECK(one.json().at("offsets").as_array().size() == 1);
  CHECK(offset_sum(one) == 3);
  auto future =
      http_call(port, "POST", path,
                R"({"topic": "events", "to": {"kind": "time", "value": 99999999999999}})");
  REQUIRE(future.status == 200);
  CHECK(offset_sum(future) == 10);
  auto earliest = http_call(port, "POST", path, R"({"topic": "events"})");  // default: earliest
  CHECK(offset_sum(earliest) == 0);

  // The wire protocol sees the committed offsets, and can reset them too.
  auto fetched = c->fetch_offsets("g", "events");
  REQUIRE(fetched);
  CHECK(fetched->offsets_size() == 2);
  ferry::v1::ResetOffsets req;
  req.set_group("g");
  req.set_topic("events");
  req.mutable_to()->set_kind(ferry::v1::Position::LATEST);
  auto wire = c->reset_offsets(req);
  REQUIRE(wire);
  CHECK(wire->offsets(0).offset() + wire->offsets(1).offset() == 10);

  CHECK(http_call(port, "POST", path, R"({"topic": "nope"})").error_code() == "TOPIC_NOT_FOUND");
  CHECK(http_call(port, "POST", path, R"({"topic": "events", "partitions": [7]})").error_code() ==
        "PARTITION_NOT_FOUND");
  CHECK(
      http_call(port, "POST", path, R"({"topic": "events", "to": {"kind": "offset", "value": 99}})")
          .error_code() == "OFFSET_OUT_OF_RANGE");
  CHECK(http_call(port, "POST", path, R"({"group": "other", "topic": "events"})").status == 400);

  // A group with a member is not reset.
  ferry::client::consume_options o;
  o.topic = "events";
  o.group = "g";
  auto member = consume(*c, std::move(o));
  auto busy = http_call(port, "POST", path, R"({"topic": "events"})");
  CHECK(busy.status == 400);
  CHECK(busy.body.find("members") != std::string::npos);
}

TEST_CASE("purge drops a subscription's ready messages, through REST and the wire", "[http]") {
  broker_process b;
  const uint16_t port = b.http_port();
  auto c = connect(b);
  create_topic(*c, "orders");
  create_subscription(*c, "audit", "orders");
  for (int i = 0; i < 5; ++i)
    REQUIRE(c->publish("orders", ferry::client::message("m")));
  auto purged = http_call(port, "POST", "/v1/subscriptions/audit/purge");
  REQUIRE(purged.status == 200);
  CHECK(purged.json().at("purged") == 5);
  CHECK(http_call(port, "GET", "/v1/subscriptions/audit").json().at("ready") == 0);
  for (int i = 0; i < 3; ++i)
    REQUIRE(c->publish("orders", ferry::client::message("m")));
  auto wire = c->purge_subscription("audit");
  REQUIRE(wire);
  CHECK(wire->purged() == 3);
  CHECK(http_call(port, "POST", "/v1/subscriptions/nope/purge").error_code() ==
        "SUBSCRIPTION_NOT_FOUND");
  CHECK(c->purge_subscription("nope").err().code ==
        ferry::make_error_code(ferry::errc::subscription_not_found));
}
