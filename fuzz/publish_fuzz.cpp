// publish_fuzz: a Publish body as the broker decodes it (broker/protocol/pipeline.cpp,
// broker/topics/publish_checks.cpp): parse_publish, then per message scan_message; and
// parse_message (with headers) as libferry decodes the same messages on delivery.
// Properties:
// - a message scan_message accepts, parse_message (libferry) accepts, with the same key
//   and times;
// - the fields parse_message reads, encoded again (append_message), read back the same;
// - a Publish the broker accepts (with every message) re-encodes with
//   append_publish_frame to the same head.
// With FERRY_FUZZ_STRICT=1 also: a message scan_message accepts is one the generated
// parser (any consumer's) accepts, with the same fields (fuzz/README.md, finding 2).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/v1/message.pb.h"
#include "ferry/v1/publish.pb.h"

#include "fuzz/fuzz_check.h"
#include "fuzz/quiet_protobuf.h"
#include "proto/codec/frame_codec.h"

namespace codec = ferry::codec;
namespace wire = ferry::wire;
using ferry::errc;

namespace {

bool same(const codec::message_fields& a, const codec::message_fields& b) {
  return a.payload == b.payload && a.key == b.key && a.ttl_ms == b.ttl_ms &&
         a.reply_to == b.reply_to && a.correlation_id == b.correlation_id && a.id == b.id &&
         a.source == b.source && a.type == b.type && a.subject == b.subject &&
         a.time_ms == b.time_ms && a.content_type == b.content_type &&
         a.traceparent == b.traceparent && a.expiry_time_ms == b.expiry_time_ms &&
         a.not_before_ms == b.not_before_ms && a.delay_ms == b.delay_ms;
}

bool same_headers(const std::vector<codec::header_view>& a,
                  const std::vector<codec::header_view>& b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (a[i].key != b[i].key || a[i].value != b[i].value) return false;
  return true;
}

// One message as the broker checks it and a client reads it; true when the broker
// accepts it.
bool check_message(std::string_view m, std::string& reencoded) {
  codec::message_meta meta;
  const errc scanned = codec::scan_message(m, meta);
  codec::message_fields fields;
  std::vector<codec::header_view> headers;
  const errc parsed = codec::parse_message(m, fields, &headers);
  codec::message_fields no_headers;
  const errc parsed_nh = codec::parse_message(m, no_headers, nullptr);
  // Headers or not, the other fields read the same (libferry reads both ways); without
  // headers, their contents are not looked at.
  FUZZ_CHECK(parsed != errc::ok || parsed_nh == errc::ok);
  if (parsed == errc::ok) FUZZ_CHECK(same(fields, no_headers));

  if (parsed == errc::ok) {
    // What libferry reads, written again (append_message: the publisher's encoder),
    // reads back the same.
    std::vector<uint8_t> out;
    wire::writer w(out);
    codec::append_message(w, fields, headers);
    FUZZ_CHECK(out.size() == codec::message_size(fields, headers));
    codec::message_fields again;
    std::vector<codec::header_view> again_headers;
    FUZZ_CHECK(codec::parse_message(wire::as_view(out), again, &again_headers) == errc::ok);
    FUZZ_CHECK(same(fields, again));
    FUZZ_CHECK(same_headers(headers, again_headers));
    reencoded.assign(reinterpret_cast<const char*>(out.data()), out.size());
  }

  if (scanned != errc::ok) return false;
  // What the broker accepts, libferry decodes.
  FUZZ_CHECK(parsed == errc::ok);
  FUZZ_CHECK(meta.key == fields.key);
  FUZZ_CHECK(meta.ttl_ms == fields.ttl_ms);
  FUZZ_CHECK(meta.expiry_time_ms == fields.expiry_time_ms);
  FUZZ_CHECK(meta.not_before_ms == fields.not_before_ms);
  FUZZ_CHECK(meta.delay_ms == fields.delay_ms);

  if (fuzz_strict) {
    // ... and so does every generated parser: scan_message exists so that consumers'
    // parsers never refuse a delivery (frame_codec.cpp).
    ferry::v1::Message pb;
    FUZZ_CHECK(pb.ParseFromArray(m.data(), static_cast<int>(m.size())));
    FUZZ_CHECK(pb.payload() == fields.payload && pb.key() == fields.key);
    FUZZ_CHECK(pb.ttl_ms() == fields.ttl_ms && pb.time_ms() == fields.time_ms);
    FUZZ_CHECK(pb.reply_to() == fields.reply_to && pb.traceparent() == fields.traceparent);
    FUZZ_CHECK(pb.expiry_time_ms() == fields.expiry_time_ms);
    FUZZ_CHECK(static_cast<size_t>(pb.headers_size()) == headers.size());
  }
  return true;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);

  // Each input is also one message on its own (the per-message scan, without a Publish
  // around it: more of the fuzzer's effort goes into the Message fields).
  std::string ignored;
  (void)check_message(body, ignored);

  codec::publish_view head;
  std::vector<std::string_view> messages;
  if (codec::parse_publish(body, head, messages) != errc::ok) return 0;
  for (auto m : messages)
    FUZZ_CHECK(m.data() >= body.data() && m.data() + m.size() <= body.data() + body.size());
  FUZZ_CHECK(ferry::wire::valid_utf8(head.topic));
  FUZZ_CHECK(ferry::wire::valid_utf8(head.producer_id));

  bool all_accepted = true;
  std::string encoded_messages;
  for (auto m : messages) {
    std::string reencoded;
    all_accepted = check_message(m, reencoded) && all_accepted;
    if (!all_accepted) continue;
    std::vector<uint8_t> field;
    wire::writer w(field);
    w.bytes_field(2, reencoded);
    encoded_messages.append(reinterpret_cast<const char*>(field.data()), field.size());
  }
  if (!all_accepted) return 0;

  // The head and the messages, encoded by libferry's publisher, decode to the same.
  std::vector<uint8_t> out;
  codec::append_publish_frame(out, 7, head, encoded_messages);
  std::string_view frame;
  size_t consumed = 0;
  FUZZ_CHECK(codec::split_frame(wire::as_view(out), UINT32_MAX, frame, consumed) ==
             codec::split_status::complete);
  FUZZ_CHECK(consumed == out.size());
  codec::frame_view fv;
  FUZZ_CHECK(codec::parse_frame(frame, fv) == errc::ok);
  FUZZ_CHECK(fv.correlation_id == 7 && fv.kind == codec::body::publish);
  codec::publish_view head2;
  std::vector<std::string_view> messages2;
  FUZZ_CHECK(codec::parse_publish(fv.bytes, head2, messages2) == errc::ok);
  FUZZ_CHECK(head2.topic == head.topic && head2.producer_id == head.producer_id);
  FUZZ_CHECK(head2.first_sequence == head.first_sequence && head2.partition == head.partition);
  FUZZ_CHECK(messages2.size() == messages.size());

  if (fuzz_strict) {
    ferry::v1::Publish pb;
    FUZZ_CHECK(pb.ParseFromArray(body.data(), static_cast<int>(body.size())));
    FUZZ_CHECK(pb.topic() == head.topic && pb.producer_id() == head.producer_id);
    FUZZ_CHECK(static_cast<size_t>(pb.messages_size()) == messages.size());
  }
  return 0;
}
