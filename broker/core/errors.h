// Small helpers for building the errors the broker answers with.
#pragma once

#include <string>
#include <string_view>

#include "proto/codec/errc.h"
#include "proto/codec/text.h"

namespace ferry::broker {

inline ferry::error fail(errc code, std::string message) {
  return {make_error_code(code), std::move(message)};
}

// 'name', for messages that quote what the client sent (escaped: messages are UTF-8).
using text::quoted;

}  // namespace ferry::broker
