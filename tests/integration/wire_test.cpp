// The broker against raw frames: bad input gets a clear error or a closed connection,
// never a crash or a hang of other clients.
#include "proto/codec/wire.h"

#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/raw_client.h"

using ferry::testing::broker_process;
using ferry::testing::raw_client;
namespace v1 = ferry::v1;

namespace {

std::string frame_bytes(const std::string& body) {
  uint32_t n = static_cast<uint32_t>(body.size());
  return std::string{char(n >> 24), char(n >> 16), char(n >> 8), char(n)} + body;
}

v1::Frame create_topic(const std::string& name) {
  v1::Frame f;
  f.mutable_create_topic()->set_name(name);
  return f;
}

// The broker still serves a fresh client normally.
void expect_healthy(const broker_process& b) {
  raw_client c(b.host(), b.port());
  c.handshake();
  v1::Frame f;
  f.mutable_list_topics();
  auto r = c.request(f);
  CHECK(r.has_topic_list());
}

v1::ErrorCode error_of(const std::optional<v1::Frame>& f) {
  REQUIRE(f);
  REQUIRE(f->has_error());
  INFO(f->error().message());
  CHECK_FALSE(f->error().message().empty());
  return f->error().code();
}

}  // namespace

TEST_CASE("the handshake answers HelloOk with the limits", "[wire]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  auto ok = c.handshake();
  CHECK(ok.protocol_version() == 1);
  CHECK(ok.max_frame_bytes() == 16u << 20);
  CHECK(ok.max_message_bytes() == 1u << 20);
  CHECK(ok.session_id() != 0);
}

TEST_CASE("a wrong protocol version is refused and the connection closed", "[wire]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  v1::Frame f;
  f.set_correlation_id(1);
  f.mutable_hello()->set_protocol_version(99);
  c.send_frame(f);
  auto r = c.read_frame();
  CHECK(error_of(r) == v1::UNSUPPORTED_VERSION);
  CHECK(r->correlation_id() == 1);
  CHECK(c.closed_by_peer());
  expect_healthy(b);
}

TEST_CASE("a request before Hello is refused and the connection closed", "[wire]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.send_frame(create_topic("t"));
  CHECK(error_of(c.read_frame()) == v1::NOT_HANDSHAKEN);
  CHECK(c.closed_by_peer());
}

TEST_CASE("garbage bytes get MALFORMED_FRAME and a close, others are not disturbed", "[wire]") {
  broker_process b;
  raw_client ok(b.host(), b.port());
  ok.handshake();
  raw_client bad(b.host(), b.port());
  bad.handshake();
  bad.send_bytes(frame_bytes("\xff\xff\xff\xff garbage"));
  CHECK(error_of(bad.read_frame()) == v1::MALFORMED_FRAME);
  CHECK(bad.closed_by_peer());
  auto r = ok.request(create_topic("still.fine"));
  CHECK(r.has_topic_info());
}

TEST_CASE("an oversized length prefix gets FRAME_TOO_LARGE without the broker reading it",
          "[wire]") {
  broker_process b(
      {"--set", "limits.max_frame_bytes=65536", "--set", "limits.max_message_bytes=1024"});
  raw_client c(b.host(), b.port());
  auto hello = c.handshake();
  CHECK(hello.max_frame_bytes() == 65536);
  c.send_bytes(std::string("\x7f\xff\xff\xff", 4));  // claims 2 GiB, sends nothing more
  CHECK(error_of(c.read_frame()) == v1::FRAME_TOO_LARGE);
  CHECK(c.closed_by_peer());
  expect_healthy(b);
}

TEST_CASE("a truncated frame followed by a vanished client leaves the broker healthy", "[wire]") {
  broker_process b;
  {
    raw_client c(b.host(), b.port());
    c.handshake();
    c.send_bytes(frame_bytes(create_topic("t").SerializeAsString()).substr(0, 7));
  }  // closes mid-frame
  expect_healthy(b);
}

TEST_CASE("an unknown request type gets UNKNOWN_REQUEST and the connection stays", "[wire]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  c.send_bytes(frame_bytes(std::string("\x08\x07\xfa\x07\x00", 5)));  // body field 127
  auto r = c.read_frame();
  CHECK(error_of(r) == v1::UNKNOWN_REQUEST);
  CHECK(r->correlation_id() == 7);
  CHECK(c.request(create_topic("t")).has_topic_info());
}

TEST_CASE("invalid names, patterns and unknown topics get clear errors", "[wire]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  CHECK(error_of(c.request(create_topic("bad..name"))) == v1::INVALID_NAME);
  CHECK(error_of(c.request(create_topic("spaces are bad"))) == v1::INVALID_NAME);
  v1::Frame sub;
  sub.mutable_create_subscription()->set_name("s");
  sub.mutable_create_subscription()->set_pattern("a.>.b");
  CHECK(error_of(c.request(sub)) == v1::INVALID_PATTERN);
  sub.mutable_create_subscription()->set_pattern("missing.topic");
  CHECK(error_of(c.request(sub)) == v1::TOPIC_NOT_FOUND);
  v1::Frame pub;
  pub.mutable_publish()->set_topic("missing.topic");
  pub.mutable_publish()->add_messages()->set_payload("x");
  CHECK(error_of(c.request(pub)) == v1::TOPIC_NOT_FOUND);
  pub.mutable_publish()->set_topic("bad topic");
  CHECK(error_of(c.request(pub)) == v1::INVALID_NAME);
  v1::Frame ack;
  ack.mutable_ack()->set_consumer_id(42);
  ack.mutable_ack()->add_delivery_ids(1);
  CHECK(error_of(c.request(ack)) == v1::UNKNOWN_CONSUMER);
}

TEST_CASE("oversized and malformed messages are refused one by one", "[wire]") {
  broker_process b({"--set", "limits.max_message_bytes=1000"});
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(c.request(create_topic("t")).has_topic_info());
  v1::Frame pub;
  auto* p = pub.mutable_publish();
  p->set_topic("t");
  p->add_messages()->set_payload("fine");
  p->add_messages()->set_payload(std::string(2000, 'x'));
  p->add_messages()->set_payload("also fine");
  auto r = c.request(pub);
  REQUIRE(r.has_publish_ok());
  CHECK(r.publish_ok().accepted() == 2);
  REQUIRE(r.publish_ok().errors_size() == 1);
  CHECK(r.publish_ok().errors(0).index() == 1);
  CHECK(r.publish_ok().errors(0).code() == v1::MESSAGE_TOO_LARGE);

  // A message whose string field is not UTF-8 (generated encoders would never send it).
  std::string msg = std::string("\x4a\x02\xff\xfe", 4);  // field 9 (type) = "\xff\xfe"
  std::string publish_body = std::string("\x0a\x01t", 3) + "\x12" + char(msg.size()) + msg;
  std::string frame =
      std::string("\x08\x09", 2) + "\x52" + char(publish_body.size()) + publish_body;
  c.send_bytes(frame_bytes(frame));
  auto m = c.read_frame();
  REQUIRE(m);
  REQUIRE(m->has_publish_ok());
  CHECK(m->correlation_id() == 9);
  REQUIRE(m->publish_ok().errors_size() == 1);
  CHECK(m->publish_ok().errors(0).code() == v1::MALFORMED_FRAME);
}

TEST_CASE("a client that never sends Hello is closed after the handshake timeout", "[wire]") {
  broker_process b({"--set", "limits.handshake_timeout_ms=200"});
  raw_client c(b.host(), b.port());
  CHECK(c.closed_by_peer(std::chrono::seconds(5)));
}

TEST_CASE("connections past limits.max_connections are refused with RESOURCE_EXHAUSTED", "[wire]") {
  broker_process b({"--set", "limits.max_connections=2"});
  raw_client a(b.host(), b.port()), c(b.host(), b.port());
  a.handshake();
  c.handshake();
  raw_client d(b.host(), b.port());
  CHECK(error_of(d.read_frame()) == v1::RESOURCE_EXHAUSTED);
  CHECK(d.closed_by_peer());
}

TEST_CASE("a consumer that never reads is cut off as slow and its messages go to others",
          "[wire]") {
  broker_process b({"--set", "limits.write_timeout_ms=300"});
  raw_client admin(b.host(), b.port());
  admin.handshake();
  REQUIRE(admin.request(create_topic("t")).has_topic_info());
  v1::Frame cs;
  cs.mutable_create_subscription()->set_name("s");
  cs.mutable_create_subscription()->set_pattern("t");
  REQUIRE(admin.request(cs).has_subscription_info());

  raw_client sleepy(b.host(), b.port());
  sleepy.set_receive_buffer(4096);
  sleepy.handshake();
  v1::Frame sub;
  sub.mutable_subscribe()->set_subscription("s");
  sub.mutable_subscribe()->set_prefetch(100000);
  REQUIRE(sleepy.request(sub).has_subscribe_ok());
  // 32 MiB of messages: far more than the sleepy socket's buffers hold.
  for (int batch = 0; batch < 32; ++batch) {
    v1::Frame pub;
    pub.mutable_publish()->set_topic("t");
    for (int i = 0; i < 16; ++i)
      pub.mutable_publish()->add_messages()->set_payload(std::string(65536, 'x'));
    REQUIRE(admin.request(pub).publish_ok().accepted() == 16);
  }
  // The broker keeps serving others while the write to sleepy is stuck...
  CHECK(admin.request(create_topic("other")).has_topic_info());
  // ...and then cuts sleepy off (its socket may take long to drain what the kernel
  // already holds, so ask the broker), and redelivers its messages to a live consumer.
  v1::Frame describe;
  describe.mutable_describe_subscription()->set_name("s");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  uint32_t consumers = 1;
  while (consumers != 0 && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
    consumers = admin.request(describe).subscription_info().consumers();
  }
  CHECK(consumers == 0);
  raw_client awake(b.host(), b.port());
  awake.handshake();
  sub.mutable_subscribe()->set_prefetch(1);
  REQUIRE(awake.request(sub).has_subscribe_ok());
  auto d = awake.read_frame();
  REQUIRE(d);
  REQUIRE(d->has_deliver());
  REQUIRE(d->deliver().deliveries_size() == 1);
  CHECK(d->deliver().deliveries(0).delivery_count() == 2);
}

// ---- conformance with PROTOCOL.md (found by a client written from the documents) ----

TEST_CASE("an error quoting a non-ASCII name is valid UTF-8 and quotes the whole character",
          "[wire][utf8]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  auto r = c.request(create_topic("caf\xc3\xa9"));  // read_frame refuses invalid UTF-8
  REQUIRE(r.has_error());
  CHECK(r.error().code() == v1::INVALID_NAME);
  CHECK(ferry::wire::valid_utf8(r.error().message()));
  CHECK(r.error().message().find("'\xc3\xa9'") != std::string::npos);
}

TEST_CASE("a Publish whose topic is not UTF-8 is MALFORMED_FRAME and closes", "[wire][utf8]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  // Frame { correlation_id: 7, publish (10): { topic (1): "\xff" } }
  c.send_bytes(frame_bytes(std::string("\x08\x07\x52\x03\x0a\x01\xff", 7)));
  auto f = c.read_frame();
  CHECK(error_of(f) == v1::MALFORMED_FRAME);
  CHECK(f->correlation_id() == 7);
  CHECK(c.closed_by_peer());
  expect_healthy(b);
}

TEST_CASE("a Ping whose body does not parse is MALFORMED_FRAME and closes", "[wire]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  // Frame { correlation_id: 5, ping (5): <a truncated varint field> }
  c.send_bytes(frame_bytes(std::string("\x08\x05\x2a\x01\x08", 5)));
  auto f = c.read_frame();
  CHECK(error_of(f) == v1::MALFORMED_FRAME);
  CHECK(f->correlation_id() == 5);
  CHECK(c.closed_by_peer());
}

TEST_CASE("messages requeued by one Nack come back in their original publish order",
          "[wire][settle]") {
  broker_process b;
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(c.request(create_topic("t")).has_topic_info());
  v1::Frame sub;
  sub.mutable_subscribe()->set_pattern("t");
  sub.mutable_subscribe()->set_prefetch(3);
  auto ok = c.request(sub);
  REQUIRE(ok.has_subscribe_ok());
  const uint64_t consumer = ok.subscribe_ok().consumer_id();
  v1::Frame pub;
  pub.mutable_publish()->set_topic("t");
  for (const char* p : {"m1", "m2", "m3"})
    pub.mutable_publish()->add_messages()->set_payload(p);
  REQUIRE(c.request(pub).publish_ok().accepted() == 3);
  std::vector<std::pair<std::string, uint64_t>> got;  // payload, delivery id
  while (got.size() < 3) {
    auto d = c.read_frame();
    REQUIRE(d);
    for (const auto& e : d->deliver().deliveries())
      got.emplace_back(e.message().payload(), e.delivery_id());
  }
  REQUIRE(got[0].first == "m1");
  REQUIRE(got[2].first == "m3");
  v1::Frame nack;
  nack.mutable_nack()->set_consumer_id(consumer);
  nack.mutable_nack()->add_delivery_ids(got[2].second);  // m3 first, then m1
  nack.mutable_nack()->add_delivery_ids(got[0].second);
  REQUIRE(c.request(nack).settle_ok().settled() == 2);
  std::vector<std::string> again;
  while (again.size() < 2) {
    auto d = c.read_frame();
    REQUIRE(d);
    for (const auto& e : d->deliver().deliveries()) {
      CHECK(e.delivery_count() == 2);
      again.push_back(e.message().payload());
    }
  }
  CHECK(again == std::vector<std::string>{"m1", "m3"});
}

TEST_CASE("a consumer that reads is not cut off when its messages are large", "[wire][slow]") {
  // Unsent output is bounded by bytes, not only by the consumer's window: with 100 KiB
  // messages and a window of 1000 the broker would queue 100 MB for the socket.
  broker_process b({"--set", "limits.max_outbound_bytes=8388608"});
  raw_client admin(b.host(), b.port());
  admin.handshake();
  REQUIRE(admin.request(create_topic("big")).has_topic_info());
  raw_client reader(b.host(), b.port());
  reader.handshake();
  v1::Frame sub;
  sub.mutable_subscribe()->set_pattern("big");
  sub.mutable_subscribe()->set_prefetch(1000);
  auto ok = reader.request(sub);
  REQUIRE(ok.has_subscribe_ok());
  const uint64_t consumer = ok.subscribe_ok().consumer_id();
  constexpr int batches = 30, per_batch = 10;  // 30 MB in all
  for (int i = 0; i < batches; ++i) {
    v1::Frame pub;
    pub.mutable_publish()->set_topic("big");
    for (int j = 0; j < per_batch; ++j)
      pub.mutable_publish()->add_messages()->set_payload(std::string(100 * 1024, 'x'));
    REQUIRE(admin.request(pub).publish_ok().accepted() == per_batch);
  }
  int received = 0;
  while (received < batches * per_batch) {
    auto d = reader.read_frame();
    REQUIRE(d);
    REQUIRE_FALSE(d->has_error());
    if (!d->has_deliver()) continue;
    v1::Frame ack;
    ack.mutable_ack()->set_consumer_id(consumer);
    for (const auto& e : d->deliver().deliveries())
      ack.mutable_ack()->add_delivery_ids(e.delivery_id());
    received += d->deliver().deliveries_size();
    reader.send_frame(ack);
  }
  CHECK(received == batches * per_batch);
}
