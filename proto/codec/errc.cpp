#include "proto/codec/errc.h"

#include <string_view>

namespace ferry {
namespace {

class ferry_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "ferry"; }
  std::string message(int code) const override {
    switch (static_cast<errc>(code)) {
      case errc::ok: return "success";
      case errc::malformed_frame: return "malformed frame";
      case errc::frame_too_large: return "frame too large";
      case errc::unsupported_version: return "unsupported protocol version";
      case errc::not_handshaken: return "handshake required";
      case errc::unknown_request: return "unknown request";
      case errc::unauthenticated: return "unauthenticated";
      case errc::unauthorized: return "unauthorized";
      case errc::invalid_argument: return "invalid argument";
      case errc::invalid_name: return "invalid name";
      case errc::invalid_pattern: return "invalid pattern";
      case errc::topic_not_found: return "topic not found";
      case errc::topic_exists: return "topic exists";
      case errc::subscription_not_found: return "subscription not found";
      case errc::subscription_exists: return "subscription exists";
      case errc::wrong_topic_kind: return "wrong topic kind";
      case errc::message_too_large: return "message too large";
      case errc::queue_full: return "queue full";
      case errc::unknown_consumer: return "unknown consumer";
      case errc::stale_delivery: return "stale delivery";
      case errc::not_supported: return "not supported";
      case errc::no_responders: return "no responders";
      case errc::timeout: return "timed out";
      case errc::flow_blocked: return "flow blocked";
      case errc::offset_out_of_range: return "offset out of range";
      case errc::partition_not_found: return "partition not found";
      case errc::sequence_gap: return "producer sequence gap";
      case errc::group_not_found: return "consumer group not found";
      case errc::unknown_member: return "unknown group member";
      case errc::rebalance_in_progress: return "rebalance in progress";
      case errc::disconnected: return "disconnected";
      case errc::scheduled_not_found: return "scheduled message not found";
      case errc::not_leader: return "not the partition's leader";
      case errc::storage_error: return "storage error";
      case errc::disk_full: return "disk full";
      case errc::shutting_down: return "broker shutting down";
      case errc::slow_consumer: return "slow consumer";
      case errc::internal: return "internal error";
      case errc::resource_exhausted: return "resource exhausted";
    }
    return "unknown ferry error " + std::to_string(code);
  }
};

}  // namespace

const std::error_category& ferry_category() noexcept {
  static const ferry_category_impl category;
  return category;
}

const char* errc_name(errc e) noexcept {
  switch (e) {
    case errc::ok: return "OK";
    case errc::malformed_frame: return "MALFORMED_FRAME";
    case errc::frame_too_large: return "FRAME_TOO_LARGE";
    case errc::unsupported_version: return "UNSUPPORTED_VERSION";
    case errc::not_handshaken: return "NOT_HANDSHAKEN";
    case errc::unknown_request: return "UNKNOWN_REQUEST";
    case errc::unauthenticated: return "UNAUTHENTICATED";
    case errc::unauthorized: return "UNAUTHORIZED";
    case errc::invalid_argument: return "INVALID_ARGUMENT";
    case errc::invalid_name: return "INVALID_NAME";
    case errc::invalid_pattern: return "INVALID_PATTERN";
    case errc::topic_not_found: return "TOPIC_NOT_FOUND";
    case errc::topic_exists: return "TOPIC_EXISTS";
    case errc::subscription_not_found: return "SUBSCRIPTION_NOT_FOUND";
    case errc::subscription_exists: return "SUBSCRIPTION_EXISTS";
    case errc::wrong_topic_kind: return "WRONG_TOPIC_KIND";
    case errc::message_too_large: return "MESSAGE_TOO_LARGE";
    case errc::queue_full: return "QUEUE_FULL";
    case errc::unknown_consumer: return "UNKNOWN_CONSUMER";
    case errc::stale_delivery: return "STALE_DELIVERY";
    case errc::not_supported: return "NOT_SUPPORTED";
    case errc::no_responders: return "NO_RESPONDERS";
    case errc::timeout: return "TIMEOUT";
    case errc::flow_blocked: return "FLOW_BLOCKED";
    case errc::offset_out_of_range: return "OFFSET_OUT_OF_RANGE";
    case errc::partition_not_found: return "PARTITION_NOT_FOUND";
    case errc::sequence_gap: return "SEQUENCE_GAP";
    case errc::group_not_found: return "GROUP_NOT_FOUND";
    case errc::unknown_member: return "UNKNOWN_MEMBER";
    case errc::rebalance_in_progress: return "REBALANCE_IN_PROGRESS";
    case errc::disconnected: return "DISCONNECTED";
    case errc::scheduled_not_found: return "SCHEDULED_NOT_FOUND";
    case errc::not_leader: return "NOT_LEADER";
    case errc::storage_error: return "STORAGE_ERROR";
    case errc::disk_full: return "DISK_FULL";
    case errc::shutting_down: return "SHUTTING_DOWN";
    case errc::slow_consumer: return "SLOW_CONSUMER";
    case errc::internal: return "INTERNAL";
    case errc::resource_exhausted: return "RESOURCE_EXHAUSTED";
  }
  return "UNKNOWN";
}

errc errc_from_wire(int code) noexcept {
  auto e = static_cast<errc>(code);
  return std::string_view(errc_name(e)) == "UNKNOWN" ? errc::internal : e;
}

errc errc_of(const std::error_code& ec) noexcept {
  if (!ec) return errc::ok;
  return ec.category() == ferry_category() ? errc_from_wire(ec.value()) : errc::internal;
}

std::string error::to_string() const {
  std::string s = code.category() == ferry_category() ? errc_name(static_cast<errc>(code.value()))
                                                      : code.message();
  if (!message.empty()) {
    s += ": ";
    s += message;
  }
  return s;
}

}  // namespace ferry
