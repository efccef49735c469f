// Helpers for integration tests that drive a real ferryd through libferry's blocking client.
#pragma once

#include <chrono>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "ferry/client/blocking_client.h"
#include "tests/support/broker_process.h"

namespace ferry::testing {

namespace fc = ferry::client;
using namespace std::chrono_literals;

inline fc::client_options options_for(const broker_process& b) {
  fc::client_options o;
  o.host = b.host();
  o.port = b.port();
  o.reconnect_min = 20ms;
  o.reconnect_max = 200ms;
  o.request_timeout = 10s;
  return o;
}

inline std::unique_ptr<fc::blocking_client> connect(const broker_process& b) {
  auto r = fc::blocking_client::connect(options_for(b));
  if (!r) FAIL("connect: " << r.err().to_string());
  return std::move(r.value());
}

// What `c`'s broker says of its cluster (DescribeCluster; the test fails when it cannot say).
inline ferry::v1::ClusterInfo cluster_info(fc::blocking_client& c) {
  auto r = c.describe_cluster();
  if (!r) FAIL("describe_cluster: " << r.err().to_string());
  return r.value();
}

inline void create_topic(fc::blocking_client& c, const std::string& name, uint64_t ttl_ms = 0,
                         bool temporary = false) {
  v1::CreateTopic req;
  req.set_name(name);
  req.mutable_options()->set_message_ttl_ms(ttl_ms);
  req.mutable_options()->set_temporary(temporary);
  auto r = c.create_topic(req);
  if (!r) FAIL("create_topic " << name << ": " << r.err().to_string());
}

inline void create_subscription(fc::blocking_client& c, const std::string& name,
                                const std::string& pattern, v1::SubscriptionOptions o = {}) {
  v1::CreateSubscription req;
  req.set_name(name);
  req.set_pattern(pattern);
  *req.mutable_options() = o;
  auto r = c.create_subscription(req);
  if (!r) FAIL("create_subscription " << name << ": " << r.err().to_string());
}

inline fc::publish_result publish(fc::blocking_client& c, const std::string& topic,
                                  const std::string& payload) {
  auto r = c.publish(topic, fc::message(payload));
  if (!r) FAIL("publish to " << topic << ": " << r.err().to_string());
  return r.value();
}

inline fc::blocking_consumer subscribe(fc::blocking_client& c, fc::subscribe_options o) {
  auto r = c.subscribe(std::move(o));
  if (!r) FAIL("subscribe: " << r.err().to_string());
  return std::move(r.value());
}

inline fc::blocking_consumer attach(fc::blocking_client& c, const std::string& subscription,
                                    uint32_t prefetch = 0, bool auto_ack = false) {
  fc::subscribe_options o;
  o.subscription = subscription;
  o.prefetch = prefetch;
  o.auto_ack = auto_ack;
  return subscribe(c, std::move(o));
}

inline fc::blocking_consumer ephemeral(fc::blocking_client& c, const std::string& pattern,
                                       uint32_t prefetch = 0, bool auto_ack = true) {
  fc::subscribe_options o;
  o.pattern = pattern;
  o.prefetch = prefetch;
  o.auto_ack = auto_ack;
  return subscribe(c, std::move(o));
}

// The next delivery, failing the test if none arrives within `timeout`.
inline fc::delivery next(fc::blocking_consumer& c, std::chrono::milliseconds timeout = 5s) {
  auto d = c.next(timeout);
  if (!d) FAIL("no delivery within " << timeout.count() << " ms");
  return std::move(*d);
}

// Whether a delivery arrives within `window` (for checks that nothing arrives).
inline bool nothing_within(fc::blocking_consumer& c, std::chrono::milliseconds window) {
  return !c.next(window).has_value();
}

inline std::string payload(const fc::delivery& d) {
  return std::string(d.payload());
}

}  // namespace ferry::testing
