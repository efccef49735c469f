#include "storage/schedule_store.h"

namespace ferry::storage {

namespace {

void put_be64(std::string& out, uint64_t v) {
  for (int shift = 56; shift >= 0; shift -= 8)
    out += static_cast<char>((v >> shift) & 0xff);
}

uint64_t get_be64(std::string_view in) {
  uint64_t v = 0;
  for (size_t i = 0; i < 8; ++i)
    v = v << 8 | static_cast<unsigned char>(in[i]);
  return v;
}

}  // namespace

std::string encode_schedule_key(const schedule_key& k) {
  std::string out;
  out.reserve(schedule_key_bytes);
  put_be64(out, static_cast<uint64_t>(k.due_ms < 0 ? 0 : k.due_ms));
  put_be64(out, k.seq);
  return out;
}

bool decode_schedule_key(std::string_view bytes, schedule_key& out) {
  if (bytes.size() != schedule_key_bytes) return false;
  const uint64_t due = get_be64(bytes);
  if (due > static_cast<uint64_t>(INT64_MAX)) return false;
  out.due_ms = static_cast<int64_t>(due);
  out.seq = get_be64(bytes.substr(8));
  return true;
}

}  // namespace ferry::storage
