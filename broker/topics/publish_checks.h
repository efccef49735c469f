// What every topic does with a Publish frame before its kind matters: adopt the frame's
// bytes, check each message, and report refusals in PublishOk.errors.
#pragma once

#include <algorithm>
#include <cstdint>
#include <string_view>

#include "ferry/v1/publish.pb.h"

#include "broker/topics/message.h"
#include "broker/topics/topic.h"
#include "proto/codec/errc.h"
#include "proto/codec/frame_codec.h"

namespace ferry::broker {

// Message TTLs above this mean "forever" (capped); topic TTLs above it are refused.
constexpr int64_t max_ttl_ms = 100LL * 365 * 24 * 3600 * 1000;

// Copies the frame body once into a shared buffer (counted by `acct` when not null) and
// points the request's views into the copy: every message is a view into it from here on.
bytes_ref adopt_frame(publish_request& r, memory_accountant* acct);

// Whether a publish refused with `code` would be refused again (the topic is gone, the
// message does not fit it), not only now (storage, a drain, a full queue): who publishes
// on a client's behalf (the scheduler, dead-lettering) then drops the message rather than
// trying again.
constexpr bool lasting_refusal(errc code) {
  return code == errc::topic_not_found || code == errc::invalid_name ||
         code == errc::invalid_argument || code == errc::wrong_topic_kind ||
         code == errc::partition_not_found || code == errc::message_too_large ||
         code == errc::malformed_frame;
}

// One refused message of a publish batch, as its PublishOk reports it.
void add_error(v1::PublishOk& ok, uint32_t index, errc code, std::string_view message);
// The same for a failed write: its code, and `message`.
void add_error(v1::PublishOk& ok, uint32_t index, const ferry::error& err,
               std::string_view message);

// When a message is due (Unix ms, PROTOCOL.md 5.7): its not_before_ms, else `now_ms` plus
// its delay_ms; 0 for a message that is not delayed.
inline int64_t due_ms(const codec::message_meta& m, int64_t now_ms) {
  if (m.not_before_ms != 0) return m.not_before_ms;
  return m.delay_ms != 0 ? now_ms + static_cast<int64_t>(std::min<uint64_t>(m.delay_ms, max_ttl_ms))
                         : 0;
}

// Size and encoding (PROTOCOL.md 5.3): true when message `i` passed (`meta` then holds
// what routing reads); else its refusal is in `out`.
bool check_encoding(uint32_t i, std::string_view bytes, size_t max_message_bytes,
                    codec::message_meta& meta, v1::PublishOk& out);

// The checks every message of every topic passes (PROTOCOL.md 5.3): size, encoding, and
// not due later than `now_ms` (delayed messages go to the schedule: one that reaches a
// topic follows an undelayed one in its Publish). True when message `i` passed (`meta`
// then holds what routing reads); else its refusal is in `out`.
bool check_message(uint32_t i, std::string_view bytes, size_t max_message_bytes, int64_t now_ms,
                   codec::message_meta& meta, v1::PublishOk& out);

}  // namespace ferry::broker
