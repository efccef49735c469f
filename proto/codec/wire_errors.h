// The one translation between ferry::errc and the wire's ferry.v1.ErrorCode. The numbers
// are equal (errc_test.cpp holds them to each other), so this is a cast, but only here.
#pragma once

#include <system_error>

#include "ferry/v1/errors.pb.h"

#include "proto/codec/errc.h"

namespace ferry::codec {

inline v1::ErrorCode to_wire(errc e) noexcept {
  return static_cast<v1::ErrorCode>(e);
}

// An error of another category (a system error that reached the wire) is INTERNAL.
inline v1::ErrorCode to_wire(const std::error_code& ec) noexcept {
  return to_wire(errc_of(ec));
}

}  // namespace ferry::codec
