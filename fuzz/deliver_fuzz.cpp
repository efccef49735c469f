// deliver_fuzz: a Deliver body as libferry decodes it from the broker
// (client/src/frames.cpp, subscriber.cpp, log_reader.cpp, types.cpp): parse_deliver, then
// for each delivery parse_message without headers (the delivery's fields) and with them
// (delivery::headers()).
// Properties:
// - the deliveries, encoded again the broker's way (begin_deliver_frame, append_delivery),
//   decode to the same;
// - with FERRY_FUZZ_STRICT=1: where the generated parser accepts the body too, it reads
//   the same consumer id and deliveries (fuzz/README.md, finding 3).
#include <cstdint>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/v1/consume.pb.h"

#include "fuzz/fuzz_check.h"
#include "fuzz/quiet_protobuf.h"
#include "proto/codec/frame_codec.h"

namespace codec = ferry::codec;
namespace wire = ferry::wire;
using ferry::errc;

namespace {

bool same(const codec::delivery_view& a, const codec::delivery_view& b) {
  return a.delivery_id == b.delivery_id && a.delivery_count == b.delivery_count &&
         a.topic == b.topic && a.timestamp_ms == b.timestamp_ms && a.message == b.message &&
         a.partition == b.partition && a.offset == b.offset;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view body(reinterpret_cast<const char*>(data), size);
  uint64_t consumer_id = 0;
  std::vector<codec::delivery_view> views;
  if (codec::parse_deliver(body, consumer_id, views) != errc::ok) return 0;

  for (const auto& v : views) {
    FUZZ_CHECK(v.message.empty() ||
               (v.message.data() >= body.data() &&
                v.message.data() + v.message.size() <= body.data() + body.size()));
    FUZZ_CHECK(v.topic.empty() || (v.topic.data() >= body.data() &&
                                   v.topic.data() + v.topic.size() <= body.data() + body.size()));
    codec::message_fields fields;
    if (codec::parse_message(v.message, fields, nullptr) != errc::ok) fields = {};
    codec::message_fields ignored;
    std::vector<codec::header_view> headers;
    (void)codec::parse_message(v.message, ignored, &headers);
    for (const auto& h : headers)
      FUZZ_CHECK(h.key.size() + h.value.size() <= v.message.size());
  }

  // The broker's encoder, on what was decoded.
  size_t entries = 0;
  std::vector<size_t> sizes;
  for (const auto& v : views) {
    sizes.push_back(codec::delivery_size(v));
    entries += codec::deliver_entry_size(sizes.back());
  }
  std::vector<uint8_t> out;
  uint8_t* at = codec::begin_deliver_frame(out, consumer_id, entries);
  for (size_t i = 0; i < views.size(); ++i)
    at = codec::append_delivery(at, views[i], sizes[i]);
  FUZZ_CHECK(at == out.data() + out.size());
  std::string_view frame;
  size_t consumed = 0;
  FUZZ_CHECK(codec::split_frame(wire::as_view(out), UINT32_MAX, frame, consumed) ==
             codec::split_status::complete);
  FUZZ_CHECK(consumed == out.size());
  codec::frame_view fv;
  FUZZ_CHECK(codec::parse_frame(frame, fv) == errc::ok);
  FUZZ_CHECK(fv.kind == codec::body::deliver && fv.correlation_id == 0);
  FUZZ_CHECK(fv.bytes.size() == codec::deliver_body_size(consumer_id, entries));
  uint64_t consumer_id2 = 0;
  std::vector<codec::delivery_view> views2;
  FUZZ_CHECK(codec::parse_deliver(fv.bytes, consumer_id2, views2) == errc::ok);
  FUZZ_CHECK(consumer_id2 == consumer_id);
  FUZZ_CHECK(views2.size() == views.size());
  for (size_t i = 0; i < views.size(); ++i)
    FUZZ_CHECK(same(views[i], views2[i]));

  if (fuzz_strict) {
    // The generated parser, where it accepts the body too. Delivery.message is a message
    // field: the generated parser merges repeated occurrences where parse_deliver keeps
    // the last, so only the other fields are compared.
    ferry::v1::Deliver pb;
    if (pb.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
      FUZZ_CHECK(pb.consumer_id() == consumer_id);
      FUZZ_CHECK(static_cast<size_t>(pb.deliveries_size()) == views.size());
      for (size_t i = 0; i < views.size(); ++i) {
        const auto& d = pb.deliveries(static_cast<int>(i));
        FUZZ_CHECK(d.delivery_id() == views[i].delivery_id);
        FUZZ_CHECK(d.delivery_count() == views[i].delivery_count);
        FUZZ_CHECK(d.topic() == views[i].topic);
        FUZZ_CHECK(d.timestamp_ms() == views[i].timestamp_ms);
        FUZZ_CHECK(d.partition() == views[i].partition);
        FUZZ_CHECK(d.offset() == views[i].offset);
        if (!d.has_message()) FUZZ_CHECK(views[i].message.empty());
      }
    }
  }
  return 0;
}
