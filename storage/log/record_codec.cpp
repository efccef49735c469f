#include "storage/record_codec.h"

#include <cstring>

namespace ferry::storage {
namespace {

void put_be32(uint8_t* out, uint32_t v) {
  for (int i = 3; i >= 0; --i, v >>= 8)
    out[i] = static_cast<uint8_t>(v);
}
void put_be64(uint8_t* out, uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8)
    out[i] = static_cast<uint8_t>(v);
}
uint64_t get_be(const uint8_t* in, int n) {
  uint64_t v = 0;
  for (int i = 0; i < n; ++i)
    v = (v << 8) | in[i];
  return v;
}

}  // namespace

void encode_record(std::vector<uint8_t>& out, int64_t timestamp_ms, std::string_view message) {
  size_t at = out.size();
  out.resize(at + record_header_bytes + message.size());
  uint8_t* p = out.data() + at;
  p[0] = record_format_version;
  // Little-endian by construction (not memcpy), so the layout does not depend on the host.
  auto ts = static_cast<uint64_t>(timestamp_ms);
  for (int i = 0; i < 8; ++i, ts >>= 8)
    p[1 + i] = static_cast<uint8_t>(ts);
  if (!message.empty()) std::memcpy(p + record_header_bytes, message.data(), message.size());
}

std::optional<record_view> decode_record(std::string_view value) {
  if (value.size() < record_header_bytes) return std::nullopt;
  const auto* p = reinterpret_cast<const uint8_t*>(value.data());
  if (p[0] != record_format_version) return std::nullopt;
  uint64_t ts = 0;
  for (int i = 7; i >= 0; --i)
    ts = (ts << 8) | p[1 + i];
  return record_view{static_cast<int64_t>(ts), value.substr(record_header_bytes)};
}

void encode_log_key(uint8_t* out, uint32_t topic, uint32_t partition, uint64_t offset) {
  put_be32(out, topic);
  put_be32(out + 4, partition);
  put_be64(out + 8, offset);
}

std::optional<log_key> decode_log_key(std::string_view key) {
  if (key.size() != log_key_bytes) return std::nullopt;
  const auto* p = reinterpret_cast<const uint8_t*>(key.data());
  return log_key{static_cast<uint32_t>(get_be(p, 4)), static_cast<uint32_t>(get_be(p + 4, 4)),
                 get_be(p + 8, 8)};
}

}  // namespace ferry::storage
