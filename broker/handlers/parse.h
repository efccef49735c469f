// Decoding a request body with its generated class. A body that does not parse means the
// peer does not speak the protocol: MALFORMED_FRAME, and the connection closes.
#pragma once

#include <cstdint>
#include <string_view>

#include "broker/session/session.h"

namespace ferry::broker::handlers {

template <typename M>
bool parse(session& s, uint64_t correlation_id, std::string_view bytes, M& msg) {
  if (msg.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) return true;
  s.fail(correlation_id, errc::malformed_frame,
         std::string(msg.GetTypeName()) + " body is not a valid message");
  return false;
}

}  // namespace ferry::broker::handlers
