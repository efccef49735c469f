#include "broker/http/http_errors.h"

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ferry::broker {

unsigned http_status(errc code) noexcept {
  switch (code) {
    case errc::ok: return 200;
    case errc::unauthenticated: return 401;
    case errc::unauthorized: return 403;
    case errc::unknown_request:
    case errc::topic_not_found:
    case errc::subscription_not_found:
    case errc::partition_not_found:
    case errc::group_not_found:
    case errc::scheduled_not_found:
    case errc::unknown_consumer:
    case errc::unknown_member: return 404;
    case errc::topic_exists:
    case errc::subscription_exists:
    case errc::stale_delivery:
    case errc::rebalance_in_progress:
    case errc::sequence_gap: return 409;
    case errc::frame_too_large:
    case errc::message_too_large: return 413;
    case errc::offset_out_of_range: return 416;
    case errc::not_leader: return 421;
    case errc::queue_full:
    case errc::resource_exhausted:
    case errc::slow_consumer: return 429;
    case errc::not_supported: return 501;
    case errc::flow_blocked:
    case errc::no_responders:
    case errc::shutting_down:
    case errc::disconnected: return 503;
    case errc::timeout: return 504;
    case errc::disk_full: return 507;
    case errc::storage_error:
    case errc::internal: return 500;
    case errc::malformed_frame:
    case errc::unsupported_version:
    case errc::not_handshaken:
    case errc::invalid_argument:
    case errc::invalid_name:
    case errc::invalid_pattern:
    case errc::wrong_topic_kind: return 400;
  }
  return 500;
}

http_response error_response(errc code, std::string message) {
  boost::json::object detail;
  detail["code"] = errc_name(code);
  detail["message"] = std::move(message);
  boost::json::object body;
  body["error"] = std::move(detail);
  return json_response(boost::json::serialize(body), http_status(code));
}

http_response error_response(const ferry::error& e) {
  return error_response(errc_of(e.code), e.message);
}

http_response json_response(std::string body, unsigned status) {
  http_response r;
  r.status = status;
  r.body = std::move(body);
  r.body += '\n';
  return r;
}

}  // namespace ferry::broker
