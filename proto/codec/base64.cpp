#include "proto/codec/base64.h"

#include <array>
#include <cctype>
#include <cstdint>
#include <cstring>

#include <boost/beast/core/detail/base64.hpp>

namespace ferry::codec {

namespace b64 = boost::beast::detail::base64;

std::string base64(std::string_view raw) {
  std::string out;
  append_base64(out, raw);
  return out;
}

namespace {

// Every 12-bit value as its two base64 characters: three bytes are two lookups. Beast's
// encoder goes a character at a time, and base64 was a third of the broker's time when it
// wrote 1 KiB events as CloudEvents JSON (docs/BENCHMARKS.md).
const auto pairs = [] {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::array<std::array<char, 2>, 4096> t{};
  for (size_t v = 0; v < t.size(); ++v)
    t[v] = {alphabet[v >> 6], alphabet[v & 63]};
  return t;
}();

}  // namespace

void append_base64(std::string& out, std::string_view raw) {
  const size_t at = out.size();
  out.resize(at + b64::encoded_size(raw.size()));
  auto* in = reinterpret_cast<const unsigned char*>(raw.data());
  char* o = out.data() + at;
  const size_t whole = raw.size() - raw.size() % 3;
  for (size_t i = 0; i < whole; i += 3, o += 4) {
    const uint32_t v = uint32_t{in[i]} << 16 | uint32_t{in[i + 1]} << 8 | in[i + 2];
    std::memcpy(o, pairs[v >> 12].data(), 2);
    std::memcpy(o + 2, pairs[v & 0xfff].data(), 2);
  }
  if (whole < raw.size()) {  // the last one or two bytes, padded
    const size_t n = raw.size() - whole;
    char tail[4];
    b64::encode(tail, in + whole, n);
    std::memcpy(o, tail, 4);
  }
}

bool unbase64(std::string_view text, std::string& raw) {
  if (text.size() % 4 != 0) return false;
  for (size_t i = 0; i < text.size(); ++i) {
    const char c = text[i];
    const bool pad =
        c == '=' && i + 2 >= text.size() && (i + 1 == text.size() || text[i + 1] == '=');
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '+' || c == '/' || pad)) return false;
  }
  raw.resize(b64::decoded_size(text.size()));
  const size_t padding = text.ends_with("==") ? 2 : text.ends_with('=') ? 1 : 0;
  auto [written, read] = b64::decode(raw.data(), text.data(), text.size());
  if (read + padding < text.size()) return false;  // stopped before the end
  raw.resize(written);
  return true;
}

}  // namespace ferry::codec
