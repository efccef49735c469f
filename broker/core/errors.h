// Small helpers for building the errors the broker answers with.
#pragma once

#include <string>
#include <string_view>

#include "proto/codec/errc.h"

namespace ferry::broker {

inline ferry::error fail(errc code, std::string message) {
  return {make_error_code(code), std::move(message)};
}

// 'name', for messages that quote what the client sent.
inline std::string quoted(std::string_view s) {
  std::string q = "'";
  q.append(s).append("'");
  return q;
}

}  // namespace ferry::broker
