// make_corpus: writes the binary seeds of fuzz/corpus/ with the project's own encoders
// (append_frame, append_publish_frame, append_delivery, generated classes), so the seeds
// are valid frames and bodies as broker and libferry send them. The text seeds (SCRAM,
// YAML, JSON) are written here too where they need binary framing; the others are files
// in the repository. Usage: ferry_fuzz_make_corpus fuzz/corpus
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/v1/consume.pb.h"
#include "ferry/v1/frame.pb.h"
#include "ferry/v1/session.pb.h"

#include "proto/codec/frame_codec.h"

namespace codec = ferry::codec;
namespace wire = ferry::wire;
namespace v1 = ferry::v1;
namespace fs = std::filesystem;

namespace {

fs::path root;

void put(const std::string& target, const std::string& name, std::string_view bytes) {
  fs::create_directories(root / target);
  std::ofstream(root / target / name, std::ios::binary)
      .write(bytes.data(), std::streamsize(bytes.size()));
}
void put(const std::string& target, const std::string& name, const std::vector<uint8_t>& b) {
  put(target, name, wire::as_view(b));
}

// The body of the one frame in `frame_bytes` (prefix included).
std::string body_of(const std::vector<uint8_t>& frame_bytes) {
  std::string_view frame;
  size_t consumed = 0;
  codec::split_frame(wire::as_view(frame_bytes), UINT32_MAX, frame, consumed);
  codec::frame_view fv;
  codec::parse_frame(frame, fv);
  return std::string(fv.bytes);
}

codec::message_fields full_message() {
  codec::message_fields m;
  m.payload = "{\"order\":42}";
  m.key = "customer-7";
  m.ttl_ms = 60000;
  m.reply_to = "inbox.a1";
  m.correlation_id = "c-1";
  m.id = "id-1";
  m.source = "/orders";
  m.type = "order.created";
  m.subject = "42";
  m.time_ms = 1700000000000;
  m.content_type = "application/json";
  m.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  m.expiry_time_ms = 1700000060000;
  return m;
}

const std::vector<codec::header_view> headers = {{"x-tenant", "eu"}, {"x-try", "2"}};

std::string encoded_messages(const std::vector<codec::message_fields>& ms,
                             const std::vector<codec::header_view>& hs) {
  std::vector<uint8_t> out;
  for (const auto& m : ms)
    codec::append_publish_message(out, m, hs);
  return std::string(wire::as_view(out));
}

std::vector<uint8_t> publish_frame(const codec::publish_view& head, const std::string& msgs) {
  std::vector<uint8_t> out;
  codec::append_publish_frame(out, 2, head, msgs);
  return out;
}

std::vector<uint8_t> deliver_frame(uint64_t consumer_id,
                                   const std::vector<codec::delivery_view>& ds) {
  size_t entries = 0;
  std::vector<size_t> sizes;
  for (const auto& d : ds) {
    sizes.push_back(codec::delivery_size(d));
    entries += codec::deliver_entry_size(sizes.back());
  }
  std::vector<uint8_t> out;
  uint8_t* at = codec::begin_deliver_frame(out, consumer_id, entries);
  for (size_t i = 0; i < ds.size(); ++i)
    at = codec::append_delivery(at, ds[i], sizes[i]);
  return out;
}

std::string message_bytes(const codec::message_fields& m,
                          const std::vector<codec::header_view>& hs) {
  std::vector<uint8_t> out;
  wire::writer w(out);
  codec::append_message(w, m, hs);
  return std::string(wire::as_view(out));
}

void frames() {
  v1::Hello hello;
  hello.set_protocol_version(codec::protocol_version);
  hello.set_client_id("fuzz");
  hello.set_client_software("libferry/0.1.0");
  std::vector<uint8_t> out;
  codec::append_frame(out, 1, codec::body::hello, hello);
  put("frame", "hello", out);

  codec::message_fields small;
  small.payload = "hello";
  put("frame", "publish", publish_frame({"orders.eu", "", 0, {}}, encoded_messages({small}, {})));

  out.clear();
  codec::append_frame(out, 3, codec::body::ping, v1::Ping());
  v1::Subscribe sub;
  sub.set_subscription("billing");
  sub.set_pattern("orders.*");
  sub.set_prefetch(100);
  codec::append_frame(out, 4, codec::body::subscribe, sub);
  put("frame", "ping-subscribe", out);

  out.clear();
  codec::append_error(out, 5, ferry::errc::topic_not_found, "topic 'a.b' does not exist");
  put("frame", "error", out);

  codec::delivery_view d;
  d.delivery_id = 9;
  d.delivery_count = 1;
  d.topic = "orders.eu";
  d.timestamp_ms = 1700000000000;
  std::string m = message_bytes(small, {});
  d.message = m;
  put("frame", "deliver", deliver_frame(3, {d}));

  // An envelope extension (field 1000, skipped) before the body.
  v1::Frame f;
  f.set_correlation_id(6);
  f.mutable_pong();
  std::string fb = f.SerializeAsString();
  std::string ext =
      "\xc2\x3e\x03"
      "abc";  // field 1000, length-delimited, 3 bytes
  std::string framed = ext + fb;
  std::string prefix(4, '\0');
  prefix[3] = static_cast<char>(framed.size());
  put("frame", "extension-pong", prefix + framed);
}

void publishes() {
  codec::message_fields small;
  small.payload = "hello";
  put("publish", "one",
      body_of(publish_frame({"orders.eu", "", 0, {}}, encoded_messages({small}, {}))));
  put("publish", "full",
      body_of(publish_frame({"orders.eu", "producer-1", 100, 0},
                            encoded_messages({full_message()}, headers))));
  codec::message_fields a, b, c;
  a.payload = "a";
  b.key = "k";
  b.payload = "bb";
  c.ttl_ms = 5;
  put("publish", "three",
      body_of(publish_frame({"t", "p", 1, 3}, encoded_messages({a, b, c}, {}))));
  put("publish", "message", message_bytes(full_message(), headers));
}

void deliveries() {
  codec::message_fields small;
  small.payload = "hello";
  std::string m1 = message_bytes(small, {});
  std::string m2 = message_bytes(full_message(), headers);
  codec::delivery_view d1{1, 1, "orders.eu", 1700000000000, m1, 0, 0};
  codec::delivery_view d2{2, 3, "logs.x", 1700000000001, m2, 4, 123456};
  codec::delivery_view d3{3, 1, "t", 0, "", 0, 0};
  put("deliver", "one", body_of(deliver_frame(7, {d1})));
  put("deliver", "two", body_of(deliver_frame(8, {d1, d2})));
  put("deliver", "empty-message", body_of(deliver_frame(9, {d3})));
}

// RFC 7677 section 3.
constexpr std::string_view client_first = "n,,n=user,r=rOprNGfwEbeRWgbNEkqO";
constexpr std::string_view client_final =
    "c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,"
    "p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=";

void scram_frames() {
  // A Hello carrying the client-first-message, whose bytes are also an AuthResponse
  // carrying the client-final-message (field 1 is Hello's version, AuthResponse's sasl).
  v1::AuthResponse resp;
  resp.set_sasl(std::string(client_final));
  v1::Hello hello;
  hello.mutable_credentials()->set_mechanism("SCRAM-SHA-256");
  hello.mutable_credentials()->set_sasl(std::string(client_first));
  hello.set_client_id("fuzz");
  put("scram", "hello-authresponse", resp.SerializeAsString() + hello.SerializeAsString());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
    return 2;
  }
  root = argv[1];
  frames();
  publishes();
  deliveries();
  scram_frames();
  return 0;
}
