// request_handler: where a session hands what its client sends (protocol/pipeline
// implements it), so the session knows nothing of the requests themselves.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/codec/frame_codec.h"

namespace ferry::broker {

class session;

class request_handler {
 public:
  // One decoded frame of `s`'s client (the envelope; the body is still encoded).
  virtual void on_request(session& s, const codec::frame_view& frame) = 0;
  // A Publish held back while the broker was flow-blocked, handled now.
  virtual void on_deferred_publish(session& s, uint64_t correlation_id, std::string_view body) = 0;

 protected:
  ~request_handler() = default;
};

}  // namespace ferry::broker
