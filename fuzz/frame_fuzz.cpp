// frame_fuzz: what the broker's read loop and libferry's read loop do with bytes from the
// socket (broker/net/connection.cpp, client/src/connection.cpp): split_frame on the
// buffer, parse_frame on each frame found; v1::Frame parses the same bytes.
// Properties: split_frame and count_frames agree; a frame re-encoded with begin_frame
// parses to the same envelope; where the generated parser also accepts a frame, it reads
// the same correlation id and body.
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "ferry/v1/frame.pb.h"

#include "fuzz/fuzz_check.h"
#include "fuzz/quiet_protobuf.h"
#include "proto/codec/frame_codec.h"

namespace codec = ferry::codec;
namespace wire = ferry::wire;
using ferry::errc;

namespace {

// Small enough that too_large is reachable from short inputs.
constexpr uint32_t max_frame_bytes = 64 * 1024;

void check_frame(std::string_view frame) {
  codec::frame_view fv;
  const errc rc = codec::parse_frame(frame, fv);

  ferry::v1::Frame pb;
  const bool pb_ok = pb.ParseFromArray(frame.data(), static_cast<int>(frame.size()));
  if (rc != errc::ok) return;

  // The body is a view into the frame.
  FUZZ_CHECK(fv.kind != codec::body::none);
  FUZZ_CHECK(fv.bytes.data() >= frame.data() &&
             fv.bytes.data() + fv.bytes.size() <= frame.data() + frame.size());

  // Re-encoded, the envelope reads back the same.
  std::vector<uint8_t> out;
  codec::begin_frame(out, fv.correlation_id, fv.kind, fv.bytes.size());
  out.insert(out.end(), fv.bytes.begin(), fv.bytes.end());
  FUZZ_CHECK(codec::count_frames(out) == 1);
  std::string_view again;
  size_t consumed = 0;
  FUZZ_CHECK(codec::split_frame(wire::as_view(out), UINT32_MAX, again, consumed) ==
             codec::split_status::complete);
  FUZZ_CHECK(consumed == out.size());
  FUZZ_CHECK(again.size() == codec::frame_size(fv.correlation_id, fv.kind, fv.bytes.size()));
  codec::frame_view fv2;
  FUZZ_CHECK(codec::parse_frame(again, fv2) == errc::ok);
  FUZZ_CHECK(fv2.correlation_id == fv.correlation_id);
  FUZZ_CHECK(fv2.kind == fv.kind);
  FUZZ_CHECK(fv2.bytes == fv.bytes);

  // The generated parser, where it accepts the frame too (it also accepts frames without
  // a body, and merges repeated bodies, which parse_frame refuses).
  if (pb_ok) {
    FUZZ_CHECK(pb.correlation_id() == fv.correlation_id);
    if (pb.body_case() != ferry::v1::Frame::BODY_NOT_SET)
      FUZZ_CHECK(static_cast<uint32_t>(pb.body_case()) == static_cast<uint32_t>(fv.kind));
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view buf(reinterpret_cast<const char*>(data), size);
  size_t frames = 0;
  for (;;) {
    std::string_view frame;
    size_t consumed = 0;
    auto st = codec::split_frame(buf, max_frame_bytes, frame, consumed);
    if (st != codec::split_status::complete) break;
    FUZZ_CHECK(consumed == codec::frame_header_bytes + frame.size());
    FUZZ_CHECK(consumed <= buf.size());
    FUZZ_CHECK(frame.data() == buf.data() + codec::frame_header_bytes);
    check_frame(frame);
    buf.remove_prefix(consumed);
    ++frames;
  }
  // count_frames (the output side) counts what split_frame finds without a limit; with
  // the limit, split_frame stops at the first frame above it.
  std::span<const uint8_t> all(data, size);
  const size_t counted = codec::count_frames(all);
  FUZZ_CHECK(counted >= frames);
  std::string_view rest(reinterpret_cast<const char*>(data), size);
  size_t unlimited = 0;
  for (;;) {
    std::string_view frame;
    size_t consumed = 0;
    if (codec::split_frame(rest, UINT32_MAX, frame, consumed) != codec::split_status::complete)
      break;
    rest.remove_prefix(consumed);
    ++unlimited;
  }
  FUZZ_CHECK(counted == unlimited);
  return 0;
}
