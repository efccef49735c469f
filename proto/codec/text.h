// Text that goes on the wire. Every string field the broker or the client sends is a
// proto3 `string`, so it must be valid UTF-8, also when it quotes bytes a peer sent (a
// strict parser refuses the whole frame otherwise, and the reader cannot even see the
// error code).
#pragma once

#include <string>
#include <string_view>

namespace ferry::text {

// `s` as printable UTF-8: well-formed multi-byte sequences are kept; control characters,
// bytes that are not UTF-8 and the backslash are written as escapes (\xC3, \x0A, \\).
std::string escape(std::string_view s);

// 'escaped', for messages that quote what a peer sent.
std::string quoted(std::string_view s);

// `s` itself when it is valid UTF-8, else escape(s): for texts built elsewhere, just
// before they are sent.
std::string sendable(std::string_view s);

}  // namespace ferry::text
