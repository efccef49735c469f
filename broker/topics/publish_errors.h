// add_error: one refused message of a publish batch, as its PublishOk reports it. Shared by
// the memory-topic and log-topic publish paths.
#pragma once

#include <cstdint>
#include <string>

#include "ferry/v1/publish.pb.h"

#include "proto/codec/errc.h"

namespace ferry::broker {

inline void add_error(v1::PublishOk& ok, uint32_t index, errc code, std::string message) {
  auto* e = ok.add_errors();
  e->set_index(index);
  e->set_code(static_cast<v1::ErrorCode>(code));
  e->set_message(std::move(message));
}

// The same for a failed write: its code, and `message`.
inline void add_error(v1::PublishOk& ok, uint32_t index, const ferry::error& err,
                      std::string message) {
  add_error(ok, index, static_cast<errc>(err.code.value()), std::move(message));
}

}  // namespace ferry::broker
