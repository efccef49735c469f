// add_error: one refused message of a publish batch, as its PublishOk reports it. Shared by
// the memory-topic and log-topic publish paths.
#pragma once

#include <cstdint>
#include <string_view>

#include "ferry/v1/publish.pb.h"

#include "proto/codec/errc.h"
#include "proto/codec/text.h"
#include "proto/codec/wire_errors.h"

namespace ferry::broker {

inline void add_error(v1::PublishOk& ok, uint32_t index, v1::ErrorCode code,
                      std::string_view message) {
  auto* e = ok.add_errors();
  e->set_index(index);
  e->set_code(code);
  e->set_message(text::sendable(message));
}

inline void add_error(v1::PublishOk& ok, uint32_t index, errc code, std::string_view message) {
  add_error(ok, index, codec::to_wire(code), message);
}

// The same for a failed write: its code, and `message`.
inline void add_error(v1::PublishOk& ok, uint32_t index, const ferry::error& err,
                      std::string_view message) {
  add_error(ok, index, codec::to_wire(err.code), message);
}

}  // namespace ferry::broker
