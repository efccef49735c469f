// ferry::errc: the one error enum of broker and client, registered as a
// std::error_category so errors travel as std::error_code.
//
// Values equal ferry.v1.ErrorCode (proto/ferry/v1/errors.proto) number for number; the
// translation to the wire is in codec/wire_errors.h, checked by errc_test.cpp.
#pragma once

#include <cstdint>
#include <string>
#include <system_error>

namespace ferry {

enum class errc : int {
  ok = 0,
  malformed_frame = 1,
  frame_too_large = 2,
  unsupported_version = 3,
  not_handshaken = 4,
  unknown_request = 5,
  unauthenticated = 6,
  unauthorized = 7,
  invalid_argument = 10,
  invalid_name = 11,
  invalid_pattern = 12,
  topic_not_found = 13,
  topic_exists = 14,
  subscription_not_found = 15,
  subscription_exists = 16,
  wrong_topic_kind = 17,
  message_too_large = 18,
  queue_full = 19,
  unknown_consumer = 20,
  stale_delivery = 21,
  not_supported = 22,
  no_responders = 23,
  timeout = 24,
  flow_blocked = 25,
  offset_out_of_range = 26,
  partition_not_found = 27,
  sequence_gap = 28,
  group_not_found = 29,
  unknown_member = 30,
  rebalance_in_progress = 31,
  disconnected = 32,
  scheduled_not_found = 33,
  not_leader = 34,
  storage_error = 40,
  disk_full = 41,
  shutting_down = 42,
  slow_consumer = 43,
  internal = 44,
  resource_exhausted = 45,
};

const std::error_category& ferry_category() noexcept;

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), ferry_category()};
}

// Short stable name of a code, as in the .proto ("TOPIC_NOT_FOUND").
const char* errc_name(errc e) noexcept;

// Wire code (ferry.v1.ErrorCode as an int) to errc; unknown numbers map to errc::internal.
errc errc_from_wire(int code) noexcept;

// The errc of an error_code: its own value in the ferry category; another category's
// error (a system error that reached a boundary) is errc::internal.
errc errc_of(const std::error_code& ec) noexcept;

// An error code with the human-readable detail the broker sent or a layer added.
struct error {
  std::error_code code;
  std::string message;

  explicit operator bool() const { return static_cast<bool>(code); }
  // "TOPIC_NOT_FOUND: topic 'a.b' does not exist"
  std::string to_string() const;
};

}  // namespace ferry

template <>
struct std::is_error_code_enum<ferry::errc> : std::true_type {};
