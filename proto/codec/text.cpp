#include "proto/codec/text.h"

#include "proto/codec/wire.h"

namespace ferry::text {

std::string escape(std::string_view s) {
  static constexpr char hex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size());
  const auto* p = reinterpret_cast<const unsigned char*>(s.data());
  const auto* end = p + s.size();
  while (p < end) {
    size_t n = wire::utf8_sequence_length(p, end);
    unsigned char c = *p;
    if (c == '\\') {
      out += "\\\\";
    } else if (n == 0 || (n == 1 && (c < 0x20 || c == 0x7F))) {
      out += "\\x";
      out += hex[c >> 4];
      out += hex[c & 0xF];
      n = 1;
    } else {
      out.append(reinterpret_cast<const char*>(p), n);
    }
    p += n;
  }
  return out;
}

std::string quoted(std::string_view s) {
  return "'" + escape(s) + "'";
}

std::string sendable(std::string_view s) {
  return wire::valid_utf8(s) ? std::string(s) : escape(s);
}

}  // namespace ferry::text
