// Quotas and limits against a real ferryd: connections per principal, publish rates
// throttled (not dropped), a principal's frame limit, and connections still in their
// handshake.
#include <chrono>
#include <string>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/raw_client.h"
#include "tests/support/secure_broker.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;
using ferry::errc;

TEST_CASE("quotas: a principal's connections past its quota are refused, others' are not",
          "[quotas]") {
  secure_broker s({"--set", "quotas.max_connections=2"});
  auto root = s.root();
  create_user(*root, "alice", "alice-pw");
  auto a1 = s.login("alice", "alice-pw");
  auto a2 = s.login("alice", "alice-pw");
  auto third = fc::blocking_client::connect(s.options("alice", "alice-pw"));
  REQUIRE_FALSE(third);
  CHECK(third.err().code == errc::resource_exhausted);
  CHECK(third.err().message.find("'alice' has 2 connections open") != std::string::npos);
  CHECK(s.root());  // root has its own count

  a2.reset();  // a connection closed gives its place back
  bool again = false;
  for (int i = 0; i < 50 && !again; ++i) {
    again = static_cast<bool>(fc::blocking_client::connect(s.options("alice", "alice-pw")));
    if (!again) std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  CHECK(again);

  // A user's own quota over the default.
  v1::SetUserQuota q;
  q.set_name("alice");
  q.mutable_quota()->set_max_connections(3);
  REQUIRE(root->set_user_quota(q));
  auto a3 = s.login("alice", "alice-pw");
  auto a4 = s.login("alice", "alice-pw");
  CHECK(fc::blocking_client::connect(s.options("alice", "alice-pw")).err().code ==
        errc::resource_exhausted);
  auto users = root->list_users();
  REQUIRE(users);
  for (const auto& u : users->users())
    if (u.name() == "alice") CHECK(u.quota().max_connections() == 3);
}

TEST_CASE("quotas: publishing over the rate is throttled and nothing is dropped", "[quotas]") {
  // 1 MB/s for the anonymous principal; 3 MB published as fast as the client can.
  broker_process b({"--set", "quotas.publish_bytes_per_second=1000000"});
  auto c = connect(b);
  create_topic(*c, "t.rate");
  create_subscription(*c, "s.rate", "t.rate");
  auto consumer = attach(*c, "s.rate", 1000, true);
  const std::string payload(1000, 'x');
  const int n = 3000;
  auto t0 = std::chrono::steady_clock::now();
  for (int sent = 0; sent < n; sent += 100) {
    std::vector<fc::message> batch;
    for (int i = 0; i < 100; ++i)
      batch.emplace_back(payload);
    auto r = c->publish_batch("t.rate", std::move(batch));
    REQUIRE(r);
  }
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  // The first second's worth goes at once (the bucket starts full), the rest at 1 MB/s.
  CHECK(seconds > 1.5);
  CHECK(seconds < 6.0);
  int received = 0;
  while (received < n && consumer.next(std::chrono::seconds(5)))
    ++received;
  CHECK(received == n);
}

TEST_CASE("quotas: a frame over the principal's frame limit closes its connection", "[quotas]") {
  secure_broker s;
  auto root = s.root();
  v1::CreateUser cu;
  cu.set_name("small");
  *cu.mutable_scram() = fc::make_scram_credential("small-pw");
  cu.mutable_quota()->set_max_frame_bytes(4096);
  REQUIRE(root->create_user(cu));
  allow(*root, rule("small", v1::RESOURCE_KIND_TOPIC, ">", {v1::OPERATION_PUBLISH}));
  create_topic(*root, "t.small");

  raw_client raw(s.broker->host(), s.broker->port());
  auto ok = raw.login("small", "small-pw");
  REQUIRE(ok.has_hello_ok());
  CHECK(ok.hello_ok().max_client_frame_bytes() == 4096);
  CHECK(ok.hello_ok().max_frame_bytes() == 16u << 20);  // what it is sent is not limited
  v1::Frame f;
  f.mutable_publish()->set_topic("t.small");
  f.mutable_publish()->add_messages()->set_payload(std::string(8000, 'x'));
  raw.send_frame(f);
  auto r = raw.read_frame();
  REQUIRE(r);
  REQUIRE(r->has_error());
  CHECK(r->error().code() == v1::FRAME_TOO_LARGE);
  CHECK(raw.closed_by_peer());
  // libferry keeps to it: a publish too big for the quota fails at the client.
  auto small = s.login("small", "small-pw");
  CHECK(small->publish("t.small", fc::message(std::string(5000, 'x'))).err().code ==
        errc::message_too_large);
  CHECK(small->publish("t.small", fc::message(std::string(1000, 'x'))));
  // root keeps the broker's limit; what "small" is sent is not limited by its quota.
  create_subscription(*root, "s.small", "t.small");
  allow(*root, rule("small", v1::RESOURCE_KIND_SUBSCRIPTION, "s.small", {v1::OPERATION_CONSUME}));
  auto reader = s.login("small", "small-pw");
  auto consumer = attach(*reader, "s.small", 10, true);
  CHECK(root->publish("t.small", fc::message(std::string(8000, 'x'))));
  CHECK(payload(next(consumer)).size() == 8000);
}

TEST_CASE("limits: connections still in their handshake past the limit are refused", "[quotas]") {
  broker_process b({"--set", "limits.max_pending_handshakes=2"});
  raw_client first(b.host(), b.port()), second(b.host(), b.port());
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // both accepted
  raw_client third(b.host(), b.port());
  auto refused = third.read_frame();
  REQUIRE(refused);
  REQUIRE(refused->has_error());
  CHECK(refused->error().code() == v1::RESOURCE_EXHAUSTED);
  CHECK(refused->error().message().find("limits.max_pending_handshakes") != std::string::npos);
  first.handshake();  // one finishes: a place is free again
  raw_client fourth(b.host(), b.port());
  CHECK(fourth.handshake().protocol_version() == 1);
}
