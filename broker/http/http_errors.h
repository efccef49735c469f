// http_errors: the one translation of ferry's error codes to HTTP statuses, and the one
// shape of an error body: {"error": {"code": "TOPIC_NOT_FOUND", "message": "..."}}. The
// codes are the wire protocol's (errc names); docs/HTTP.md lists the mapping.
#pragma once

#include <string>

#include "broker/http/http_message.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

unsigned http_status(errc code) noexcept;

// The error body with http_status(code) as the status.
http_response error_response(const ferry::error& e);
http_response error_response(errc code, std::string message);

// 200 (or `status`) with a JSON body.
http_response json_response(std::string body, unsigned status = 200);

}  // namespace ferry::broker
