// The hand-written codecs must agree with protobuf's generated classes in both directions,
// and framing must refuse bad input without reading past it.
#include "proto/codec/frame_codec.h"

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "ferry/v1/frame.pb.h"

namespace v1 = ferry::v1;
using namespace ferry::codec;
using ferry::errc;

namespace {

std::string_view view(const std::vector<uint8_t>& v) {
  return ferry::wire::as_view(v);
}

struct owned_message {
  std::string payload, key, reply_to, correlation_id, id, source, type, subject, content_type,
      traceparent;
  uint64_t ttl_ms = 0;
  int64_t time_ms = 0, expiry_time_ms = 0, not_before_ms = 0;
  std::vector<std::pair<std::string, std::string>> headers;

  message_fields fields() const {
    message_fields m;
    m.payload = payload;
    m.key = key;
    m.ttl_ms = ttl_ms;
    m.reply_to = reply_to;
    m.correlation_id = correlation_id;
    m.id = id;
    m.source = source;
    m.type = type;
    m.subject = subject;
    m.time_ms = time_ms;
    m.content_type = content_type;
    m.traceparent = traceparent;
    m.expiry_time_ms = expiry_time_ms;
    m.not_before_ms = not_before_ms;
    return m;
  }
  std::vector<header_view> header_views() const {
    std::vector<header_view> h;
    for (const auto& [k, v] : headers)
      h.push_back({k, v});
    return h;
  }
};

// proto3 string fields must be UTF-8; bytes fields may hold anything.
rc::Gen<std::string> gen_text() {
  return rc::gen::oneOf(rc::gen::container<std::string>(rc::gen::inRange<char>(32, 127)),
                        rc::gen::element<std::string>("", "é", "日本", "\xF0\x9F\x9A\xA2"));
}

rc::Gen<owned_message> gen_message() {
  return rc::gen::exec([] {
    owned_message m;
    m.payload = *rc::gen::arbitrary<std::string>();
    m.key = *rc::gen::arbitrary<std::string>();
    m.reply_to = *gen_text();
    m.id = *gen_text();
    m.type = *gen_text();
    m.traceparent = *gen_text();
    m.ttl_ms = *rc::gen::arbitrary<uint64_t>();
    m.time_ms = *rc::gen::arbitrary<int64_t>();
    m.expiry_time_ms = *rc::gen::inRange<int64_t>(0, 1LL << 50);
    m.headers = *rc::gen::container<std::vector<std::pair<std::string, std::string>>>(
        rc::gen::pair(gen_text(), rc::gen::arbitrary<std::string>()));
    return m;
  });
}

void expect_equal(const owned_message& m, const v1::Message& g) {
  RC_ASSERT(g.payload() == m.payload);
  RC_ASSERT(g.key() == m.key);
  RC_ASSERT(g.reply_to() == m.reply_to);
  RC_ASSERT(g.id() == m.id);
  RC_ASSERT(g.type() == m.type);
  RC_ASSERT(g.traceparent() == m.traceparent);
  RC_ASSERT(g.ttl_ms() == m.ttl_ms);
  RC_ASSERT(g.time_ms() == m.time_ms);
  RC_ASSERT(g.expiry_time_ms() == m.expiry_time_ms);
  RC_ASSERT(g.headers_size() == static_cast<int>(m.headers.size()));
  for (size_t i = 0; i < m.headers.size(); ++i) {
    RC_ASSERT(g.headers(int(i)).key() == m.headers[i].first);
    RC_ASSERT(g.headers(int(i)).value() == m.headers[i].second);
  }
}

}  // namespace

namespace {

// The hand decoder reads `frame` (encoded by the generated classes) as `head` + `msgs`.
void expect_hand_decoded_publish(const std::string& frame, uint64_t corr, const publish_view& head,
                                 const std::vector<owned_message>& msgs) {
  frame_view fv;
  RC_ASSERT(parse_frame(frame, fv) == errc::ok);
  RC_ASSERT(fv.kind == body::publish);
  RC_ASSERT(fv.correlation_id == corr);
  publish_view pv;
  std::vector<std::string_view> views;
  RC_ASSERT(parse_publish(fv.bytes, pv, views) == errc::ok);
  RC_ASSERT(pv.topic == head.topic);
  RC_ASSERT(pv.producer_id == head.producer_id);
  RC_ASSERT(pv.first_sequence == head.first_sequence);
  RC_ASSERT(pv.partition.has_value() == head.partition.has_value());
  RC_ASSERT(views.size() == msgs.size());
  for (size_t i = 0; i < msgs.size(); ++i) {
    message_fields mf;
    std::vector<header_view> hs;
    RC_ASSERT(parse_message(views[i], mf, &hs) == errc::ok);
    RC_ASSERT(mf.payload == msgs[i].payload);
    RC_ASSERT(mf.key == msgs[i].key);
    RC_ASSERT(mf.ttl_ms == msgs[i].ttl_ms);
    RC_ASSERT(mf.expiry_time_ms == msgs[i].expiry_time_ms);
    RC_ASSERT(hs.size() == msgs[i].headers.size());
    message_meta meta;
    RC_ASSERT(scan_message(views[i], meta) == errc::ok);
    RC_ASSERT(meta.ttl_ms == msgs[i].ttl_ms);
    RC_ASSERT(meta.key == msgs[i].key);
  }
}

}  // namespace

TEST_CASE("hand-encoded Publish frames parse with generated classes and back", "[proto][codec]") {
  rc::prop("hand encode -> generated parse", [] {
    auto msgs = *rc::gen::container<std::vector<owned_message>>(gen_message());
    auto topic = *gen_text();
    auto producer = *gen_text();
    auto seq = *rc::gen::arbitrary<uint64_t>();
    auto corr = *rc::gen::arbitrary<uint64_t>();
    bool with_partition = *rc::gen::arbitrary<bool>();

    std::vector<uint8_t> encoded;
    for (const auto& m : msgs)
      append_publish_message(encoded, m.fields(), m.header_views());
    publish_view head{topic, producer, seq, std::nullopt};
    if (with_partition) head.partition = 0;  // explicit 0 must survive
    std::vector<uint8_t> out;
    append_publish_frame(out, corr, head, view(encoded));

    std::string_view frame;
    size_t consumed = 0;
    RC_ASSERT(split_frame(view(out), 1u << 30, frame, consumed) == split_status::complete);
    RC_ASSERT(consumed == out.size());
    v1::Frame g;
    RC_ASSERT(g.ParseFromArray(frame.data(), int(frame.size())));
    RC_ASSERT(g.correlation_id() == corr);
    RC_ASSERT(g.has_publish());
    RC_ASSERT(g.publish().topic() == topic);
    RC_ASSERT(g.publish().producer_id() == producer);
    RC_ASSERT(g.publish().first_sequence() == seq);
    RC_ASSERT(g.publish().has_partition() == with_partition);
    RC_ASSERT(g.publish().messages_size() == int(msgs.size()));
    for (size_t i = 0; i < msgs.size(); ++i)
      expect_equal(msgs[i], g.publish().messages(int(i)));

    expect_hand_decoded_publish(g.SerializeAsString(), corr, head, msgs);
  });
}

namespace {

// A Deliver frame of `ds` for `consumer`, encoded by the codec as the broker does.
std::vector<uint8_t> encode_deliver(uint64_t consumer, const std::vector<delivery_view>& ds) {
  size_t entries = 0;
  std::vector<size_t> sizes;
  for (const auto& d : ds) {
    sizes.push_back(delivery_size(d));
    entries += deliver_entry_size(sizes.back());
  }
  std::vector<uint8_t> out;
  uint8_t* at = begin_deliver_frame(out, consumer, entries);
  for (size_t i = 0; i < ds.size(); ++i)
    at = append_delivery(at, ds[i], sizes[i]);
  RC_ASSERT(at == out.data() + out.size());  // the sizes add up exactly
  return out;
}

// The generated classes read `frame` as the deliveries `ds` of messages `msgs`.
void expect_generated_deliver(std::string_view frame, uint64_t consumer,
                              const std::vector<delivery_view>& ds,
                              const std::vector<owned_message>& msgs) {
  v1::Frame g;
  RC_ASSERT(g.ParseFromArray(frame.data(), int(frame.size())));
  RC_ASSERT(g.has_deliver());
  RC_ASSERT(g.deliver().consumer_id() == consumer);
  RC_ASSERT(g.deliver().deliveries_size() == int(ds.size()));
  for (size_t i = 0; i < ds.size(); ++i) {
    const auto& gd = g.deliver().deliveries(int(i));
    RC_ASSERT(gd.delivery_id() == ds[i].delivery_id);
    RC_ASSERT(gd.delivery_count() == ds[i].delivery_count);
    RC_ASSERT(gd.topic() == ds[i].topic);
    RC_ASSERT(gd.timestamp_ms() == ds[i].timestamp_ms);
    RC_ASSERT(gd.partition() == ds[i].partition);
    RC_ASSERT(gd.offset() == ds[i].offset);
    expect_equal(msgs[i], gd.message());
  }
}

}  // namespace

TEST_CASE("hand-encoded Deliver frames parse with generated classes and back", "[proto][codec]") {
  rc::prop("deliver round trip", [] {
    auto msgs = *rc::gen::container<std::vector<owned_message>>(gen_message());
    auto consumer = *rc::gen::arbitrary<uint64_t>();
    std::vector<std::vector<uint8_t>> bodies;
    std::vector<delivery_view> ds;
    for (const auto& m : msgs) {
      std::vector<uint8_t> b;
      ferry::wire::writer w(b);
      append_message(w, m.fields(), m.header_views());
      bodies.push_back(std::move(b));
    }
    for (size_t i = 0; i < msgs.size(); ++i) {
      delivery_view d;
      d.delivery_id = *rc::gen::arbitrary<uint64_t>();
      d.delivery_count = *rc::gen::arbitrary<uint32_t>();
      d.topic = msgs[i].id;
      d.timestamp_ms = *rc::gen::inRange<int64_t>(0, 1LL << 45);
      d.message = view(bodies[i]);
      d.partition = *rc::gen::arbitrary<uint32_t>();
      d.offset = *rc::gen::arbitrary<uint64_t>();
      ds.push_back(d);
    }
    auto out = encode_deliver(consumer, ds);
    std::string_view frame;
    size_t consumed = 0;
    RC_ASSERT(split_frame(view(out), 1u << 30, frame, consumed) == split_status::complete);
    RC_ASSERT(consumed == out.size());
    expect_generated_deliver(frame, consumer, ds, msgs);

    frame_view fv;
    RC_ASSERT(parse_frame(frame, fv) == errc::ok);
    uint64_t cid = 0;
    std::vector<delivery_view> back;
    RC_ASSERT(parse_deliver(fv.bytes, cid, back) == errc::ok);
    RC_ASSERT(cid == consumer);
    RC_ASSERT(back.size() == ds.size());
    for (size_t i = 0; i < ds.size(); ++i) {
      RC_ASSERT(back[i].delivery_id == ds[i].delivery_id);
      RC_ASSERT(back[i].message == ds[i].message);
      RC_ASSERT(back[i].offset == ds[i].offset);
    }
  });
}

TEST_CASE("append_frame wraps generated bodies and append_error writes Error", "[proto][codec]") {
  v1::CreateTopic ct;
  ct.set_name("orders.eu");
  ct.set_kind(v1::LOG);
  std::vector<uint8_t> out;
  append_frame(out, 42, body::create_topic, ct);
  append_error(out, 43, errc::topic_not_found, "no such topic");

  std::string_view rest = view(out), frame;
  size_t consumed = 0;
  REQUIRE(split_frame(rest, 1024, frame, consumed) == split_status::complete);
  v1::Frame g;
  REQUIRE(g.ParseFromArray(frame.data(), int(frame.size())));
  CHECK(g.correlation_id() == 42);
  CHECK(g.create_topic().name() == "orders.eu");
  CHECK(g.create_topic().kind() == v1::LOG);

  rest.remove_prefix(consumed);
  REQUIRE(split_frame(rest, 1024, frame, consumed) == split_status::complete);
  REQUIRE(g.ParseFromArray(frame.data(), int(frame.size())));
  CHECK(g.correlation_id() == 43);
  CHECK(g.error().code() == v1::TOPIC_NOT_FOUND);
  CHECK(g.error().message() == "no such topic");
  CHECK(consumed == rest.size());

  CHECK(count_frames(out) == 2);
  CHECK(count_frames(std::span(out).first(out.size() - 1)) == 1);  // the second cut short
  CHECK(count_frames(std::span(out).first(3)) == 0);
  CHECK(count_frames({}) == 0);
}

TEST_CASE("split_frame waits for whole frames and refuses oversized ones", "[proto][codec]") {
  std::vector<uint8_t> out;
  append_error(out, 1, errc::internal, "x");
  std::string_view frame;
  size_t consumed = 0;
  for (size_t n = 0; n < out.size(); ++n)
    CHECK(split_frame(view(out).substr(0, n), 1024, frame, consumed) == split_status::need_more);
  CHECK(split_frame(view(out), 1024, frame, consumed) == split_status::complete);
  // A length above the limit is refused from the prefix alone.
  const uint8_t huge[] = {0x7F, 0xFF, 0xFF, 0xFF};
  CHECK(split_frame(std::string_view(reinterpret_cast<const char*>(huge), 4), 1 << 20, frame,
                    consumed) == split_status::too_large);
}

TEST_CASE("parse_frame refuses frames without a body and garbage", "[proto][codec]") {
  frame_view fv;
  CHECK(parse_frame("", fv) == errc::malformed_frame);
  CHECK(parse_frame(std::string_view("\x08\x05", 2), fv) == errc::malformed_frame);  // corr only
  CHECK(parse_frame(std::string_view("\x52\x05\x01", 3), fv) == errc::malformed_frame);  // short
  CHECK(parse_frame(std::string_view("\xff\xff\xff", 3), fv) == errc::malformed_frame);
  // Two bodies in one frame are refused.
  CHECK(parse_frame(std::string_view("\x2a\x00\x2a\x00", 4), fv) == errc::malformed_frame);
  // An unknown body number is reported, not refused, so the broker can say UNKNOWN_REQUEST.
  REQUIRE(parse_frame(std::string_view("\x08\x07\xfa\x07\x00", 5), fv) == errc::ok);
  CHECK(fv.correlation_id == 7);
  CHECK(static_cast<uint32_t>(fv.kind) == 127);

  rc::prop("random bytes never crash the decoders", [] {
    auto bytes = *rc::gen::arbitrary<std::string>();
    frame_view f;
    if (parse_frame(bytes, f) == errc::ok) {
      publish_view pv;
      std::vector<std::string_view> msgs;
      if (parse_publish(f.bytes, pv, msgs) == errc::ok) {
        for (auto m : msgs) {
          message_meta meta;
          (void)scan_message(m, meta);
        }
      }
      uint64_t cid;
      std::vector<delivery_view> ds;
      (void)parse_deliver(f.bytes, cid, ds);
    }
  });
}

TEST_CASE("appended fields override earlier ones, as protobuf merges", "[proto][codec]") {
  owned_message m;
  m.payload = "p";
  m.ttl_ms = 500;
  std::vector<uint8_t> b;
  ferry::wire::writer w(b);
  append_message(w, m.fields(), {});
  append_header_field(b, "ferry-dead-letter-reason", "max_deliveries");
  w.tag(4, ferry::wire::wire_type::varint);  // ttl_ms = 0 clears the TTL
  w.varint(0);

  message_meta meta;
  REQUIRE(scan_message(view(b), meta) == errc::ok);
  CHECK(meta.ttl_ms == 0);
  v1::Message g;
  REQUIRE(g.ParseFromArray(b.data(), int(b.size())));
  CHECK(g.ttl_ms() == 0);
  CHECK(g.payload() == "p");
  REQUIRE(g.headers_size() == 1);
  CHECK(g.headers(0).key() == "ferry-dead-letter-reason");
  CHECK(g.headers(0).value() == "max_deliveries");
}

TEST_CASE("scan_message refuses invalid UTF-8 in string fields but not in bytes",
          "[proto][codec]") {
  owned_message m;
  m.payload = "\xff\xfe";  // bytes: anything goes
  m.key = "\xc0";
  std::vector<uint8_t> b;
  ferry::wire::writer w(b);
  append_message(w, m.fields(), {});
  message_meta meta;
  CHECK(scan_message(view(b), meta) == errc::ok);

  for (std::string bad : {"\xff", "\xc0\xaf", "\xed\xa0\x80", "abc\xe2\x82"}) {
    owned_message s;
    s.type = bad;
    std::vector<uint8_t> e;
    ferry::wire::writer we(e);
    append_message(we, s.fields(), {});
    CHECK(scan_message(view(e), meta) == errc::malformed_frame);
    owned_message h;
    h.headers.push_back({bad, "v"});
    std::vector<uint8_t> eh;
    ferry::wire::writer wh(eh);
    append_message(wh, h.fields(), h.header_views());
    CHECK(scan_message(view(eh), meta) == errc::malformed_frame);
  }
  // A string field sent with a varint wire type is refused too.
  CHECK(scan_message(std::string_view("\x28\x01", 2), meta) == errc::malformed_frame);
}
