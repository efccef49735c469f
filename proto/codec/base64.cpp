#include "proto/codec/base64.h"

#include <cctype>

#include <boost/beast/core/detail/base64.hpp>

namespace ferry::codec {

namespace b64 = boost::beast::detail::base64;

std::string base64(std::string_view raw) {
  std::string out(b64::encoded_size(raw.size()), '\0');
  out.resize(b64::encode(out.data(), raw.data(), raw.size()));
  return out;
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
