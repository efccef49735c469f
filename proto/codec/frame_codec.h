// frame_codec: the one framing codec that broker and client both link.
//
// A frame on the wire is a 4-byte big-endian length N, then N bytes of one encoded
// ferry.v1.Frame. This file turns bytes into frame views and back:
// - framing: find complete frames in a read buffer, checking N against the limit before
//   anything is allocated for it;
// - the envelope: correlation id and which body a frame carries;
// - hand-written codecs for the frames that carry messages (Publish, Deliver), which read
//   and write message bytes in place instead of through generated classes;
// - append_frame() for every other body, through the generated classes.
//
// Views (std::string_view) point into the caller's buffer and live as long as it does.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string_view>
#include <vector>

#include "proto/codec/errc.h"
#include "proto/codec/wire.h"

namespace google::protobuf {
class MessageLite;
}

namespace ferry::codec {

constexpr uint32_t protocol_version = 1;
// Frame field numbers from here up are envelope extensions, skipped when unknown;
// below it (from 2) every length-delimited field is a body.
constexpr uint32_t first_envelope_extension = 1000;
constexpr size_t frame_header_bytes = 4;

// Field numbers of Frame.body (proto/ferry/v1/frame.proto).
enum class body : uint32_t {
  none = 0,
  hello = 2,
  hello_ok = 3,
  error = 4,
  ping = 5,
  pong = 6,
  notice = 7,
  auth_challenge = 8,
  auth_response = 9,
  publish = 10,
  publish_ok = 11,
  subscribe = 20,
  subscribe_ok = 21,
  unsubscribe = 22,
  unsubscribe_ok = 23,
  deliver = 24,
  credit = 25,
  ack = 26,
  nack = 27,
  extend_lease = 28,
  settle_ok = 29,
  create_topic = 40,
  topic_info = 41,
  delete_topic = 42,
  delete_topic_ok = 43,
  list_topics = 44,
  topic_list = 45,
  describe_topic = 46,
  create_subscription = 50,
  subscription_info = 51,
  delete_subscription = 52,
  delete_subscription_ok = 53,
  list_subscriptions = 54,
  subscription_list = 55,
  describe_subscription = 56,
  purge_subscription = 57,
  purge_subscription_ok = 58,
  set_subscription_push = 59,
  consume_log = 70,
  consume_log_ok = 71,
  assignment = 72,
  revoke_done = 73,
  commit_offsets = 74,
  commit_offsets_ok = 75,
  fetch_offsets = 76,
  offset_list = 77,
  seek = 78,
  seek_ok = 79,
  list_groups = 80,
  group_list = 81,
  describe_group = 82,
  group_info = 83,
  reset_offsets = 84,
  create_user = 90,
  user_info = 91,
  delete_user = 92,
  delete_user_ok = 93,
  list_users = 94,
  user_list = 95,
  set_user_password = 96,
  create_token = 97,
  token_created = 98,
  revoke_token = 99,
  revoke_token_ok = 100,
  list_tokens = 101,
  token_list = 102,
  add_acl = 103,
  add_acl_ok = 104,
  remove_acl = 105,
  remove_acl_ok = 106,
  list_acls = 107,
  acl_list = 108,
  who_am_i = 109,
  who_am_i_ok = 110,
  set_user_quota = 111,
  list_scheduled = 112,
  scheduled_list = 113,
  cancel_scheduled = 114,
  cancel_scheduled_ok = 115,
  describe_cluster = 116,
  cluster_info = 117,
};

// ---- framing ----

enum class split_status { complete, need_more, too_large };

// Looks at the front of `buf`. complete: `frame` is the first frame's Frame bytes and
// `consumed` the bytes it took including the prefix. need_more: not a whole frame yet.
// too_large: the length prefix exceeds max_frame_bytes (the rest must not be read).
split_status split_frame(std::string_view buf, uint32_t max_frame_bytes, std::string_view& frame,
                         size_t& consumed);
// The whole frames at the front of `buf` (an output buffer: its length prefixes are ours).
size_t count_frames(std::span<const uint8_t> buf);

// ---- envelope ----

struct frame_view {
  uint64_t correlation_id = 0;
  body kind = body::none;
  std::string_view bytes;  // the body message's encoding
};

// Parses a Frame. Fails with malformed_frame on bad protobuf or a missing/duplicate body.
// Unknown fields outside the body are skipped; an unknown body number is reported as
// kind with that number so the caller can answer UNKNOWN_REQUEST.
errc parse_frame(std::string_view frame, frame_view& out);

// Appends a whole frame (prefix and Frame) whose body is a generated message.
void append_frame(std::vector<uint8_t>& out, uint64_t correlation_id, body kind,
                  const google::protobuf::MessageLite& msg);
// Appends an Error frame.
void append_error(std::vector<uint8_t>& out, uint64_t correlation_id, errc code,
                  std::string_view message);

// Size of a frame's Frame bytes (without prefix) whose body has `body_len` bytes.
size_t frame_size(uint64_t correlation_id, body kind, size_t body_len);
// Writes prefix, correlation id and the body's tag and length; the caller then appends
// exactly body_len bytes of body.
void begin_frame(std::vector<uint8_t>& out, uint64_t correlation_id, body kind, size_t body_len);

// ---- messages ----

// What the broker needs to know of a Message without decoding it whole.
struct message_meta {
  uint64_t ttl_ms = 0;
  int64_t expiry_time_ms = 0;
  int64_t not_before_ms = 0;
  uint64_t delay_ms = 0;
  std::string_view key;
};
// Checks an encoded Message as a publisher sent it (known fields have their declared wire
// types, string fields are UTF-8) and reads the routing-relevant fields; when a field
// repeats, the last value wins, as in protobuf.
errc scan_message(std::string_view message, message_meta& out);

struct header_view {
  std::string_view key;
  std::string_view value;
};

// Every field of a Message, as views. Used by clients to encode and decode.
struct message_fields {
  std::string_view payload;
  std::string_view key;
  uint64_t ttl_ms = 0;
  std::string_view reply_to;
  std::string_view correlation_id;
  std::string_view id;
  std::string_view source;
  std::string_view type;
  std::string_view subject;
  int64_t time_ms = 0;
  std::string_view content_type;
  std::string_view traceparent;
  int64_t expiry_time_ms = 0;
  int64_t not_before_ms = 0;
  uint64_t delay_ms = 0;
};

// Decodes a Message; headers are appended to *headers when it is not null.
errc parse_message(std::string_view message, message_fields& out,
                   std::vector<header_view>* headers);
size_t message_size(const message_fields& m, std::span<const header_view> headers);
void append_message(wire::writer& w, const message_fields& m, std::span<const header_view> headers);

// Appends one encoded Header as a field 3 entry of a Message (used to annotate messages,
// e.g. when dead-lettering: the bytes of a Message plus this are still a Message).
void append_header_field(std::vector<uint8_t>& out, std::string_view key, std::string_view value);
// Appends ttl_ms = 0 and expiry_time_ms = 0 to an encoded Message: merged over the
// message's own fields, they clear its TTLs (bytes 20 00 70 00).
void append_ttl_reset(std::vector<uint8_t>& out);

// ---- Publish ----

struct publish_view {
  std::string_view topic;
  std::string_view producer_id;
  uint64_t first_sequence = 0;
  std::optional<uint32_t> partition;
};
// Decodes a Publish body; message encodings are appended to `messages` (cleared first).
errc parse_publish(std::string_view body, publish_view& out,
                   std::vector<std::string_view>& messages);

// Appends a whole Publish frame. `encoded_messages` is a run of Publish.messages fields
// (field 2, length-delimited), e.g. built by append_publish_message().
void append_publish_frame(std::vector<uint8_t>& out, uint64_t correlation_id,
                          const publish_view& head, std::string_view encoded_messages);
// Appends a Publish body's fields other than its messages (topic, producer, partition):
// followed by append_publish_message() calls, a Publish body without a frame around it.
void append_publish_head(std::vector<uint8_t>& out, const publish_view& head);
// Appends one message as a Publish.messages field.
void append_publish_message(std::vector<uint8_t>& out, const message_fields& m,
                            std::span<const header_view> headers);

// ---- Deliver ----

struct delivery_view {
  uint64_t delivery_id = 0;
  uint32_t delivery_count = 0;
  std::string_view topic;
  int64_t timestamp_ms = 0;
  std::string_view message;  // an encoded Message
  uint32_t partition = 0;
  uint64_t offset = 0;
};

// Encoding a Deliver frame takes two passes, because protobuf puts lengths first:
//   size_t sz = delivery_size(d);            // for each delivery
//   entries += deliver_entry_size(sz);
//   uint8_t* at = begin_deliver_frame(out, consumer_id, entries);  // sizes `out` once
//   at = append_delivery(at, d, sz);         // for each delivery, same order
size_t delivery_size(const delivery_view& d);
size_t deliver_entry_size(size_t delivery_bytes);
size_t deliver_body_size(uint64_t consumer_id, size_t entries_bytes);
// Writes the header and consumer_id, grows `out` by entries_bytes and returns where the
// first delivery goes; append_delivery() writes one and returns where the next goes.
uint8_t* begin_deliver_frame(std::vector<uint8_t>& out, uint64_t consumer_id, size_t entries_bytes);
uint8_t* append_delivery(uint8_t* at, const delivery_view& d, size_t delivery_bytes);

// Decodes a Deliver body; deliveries are appended to `out` (cleared first).
errc parse_deliver(std::string_view body, uint64_t& consumer_id, std::vector<delivery_view>& out);

}  // namespace ferry::codec
