#include "ferry/client/types.h"

#include "proto/codec/scram.h"

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

namespace ferry::client {

namespace {
v1::Position make_position(v1::Position::Kind kind, int64_t value) {
  v1::Position p;
  p.set_kind(kind);
  p.set_value(value);
  return p;
}
}  // namespace

v1::Position position::earliest() {
  return make_position(v1::Position::EARLIEST, 0);
}
v1::Position position::latest() {
  return make_position(v1::Position::LATEST, 0);
}
v1::Position position::offset(uint64_t offset) {
  return make_position(v1::Position::OFFSET, static_cast<int64_t>(offset));
}
v1::Position position::time(int64_t unix_ms) {
  return make_position(v1::Position::TIME, unix_ms);
}

v1::ScramCredential make_scram_credential(std::string_view password) {
  scram::keys k = scram::make_keys(password);
  v1::ScramCredential out;
  out.set_salt(k.salt);
  out.set_iterations(k.iterations);
  out.set_stored_key(k.stored_key);
  out.set_server_key(k.server_key);
  return out;
}

}  // namespace ferry::client
