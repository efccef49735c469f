#include "ferry/client/types.h"

namespace ferry::client {

const std::vector<codec::header_view>& delivery::headers() const {
  if (!headers_) {
    headers_.emplace();
    codec::message_fields ignored;
    // On malformed input the headers parsed so far are kept; the broker checked the
    // message when it was published, so this does not happen in practice.
    (void)codec::parse_message(view_.message, ignored, &*headers_);
  }
  return *headers_;
}

std::optional<std::string_view> delivery::header(std::string_view key) const {
  for (const auto& h : headers())
    if (h.key == key) return h.value;
  return std::nullopt;
}

}  // namespace ferry::client
