#include "broker/schedule/schedule_value.h"

#include <charconv>
#include <cstring>
#include <vector>

#include "proto/codec/wire.h"

namespace ferry::broker::schedule_value {

std::string encode(std::string_view topic, std::optional<uint32_t> partition,
                   std::string_view message, int64_t due_ms) {
  std::string v;
  v.reserve(8 + topic.size() + message.size() + due_field_bytes);
  v += static_cast<char>(1);
  v += static_cast<char>(partition ? 1 : 0);
  const uint32_t p = partition.value_or(0);
  v.append(reinterpret_cast<const char*>(&p), 4);
  const auto n = static_cast<uint16_t>(topic.size());
  v.append(reinterpret_cast<const char*>(&n), 2);
  v += topic;
  v += message;
  std::vector<uint8_t> tail;
  wire::writer(tail).varint_field(15, static_cast<uint64_t>(due_ms));
  v.append(reinterpret_cast<const char*>(tail.data()), tail.size());
  return v;
}

bool decode(std::string_view v, decoded& out) {
  if (v.size() < 8 || v[0] != 1) return false;
  uint32_t p;
  uint16_t n;
  std::memcpy(&p, v.data() + 2, 4);
  std::memcpy(&n, v.data() + 6, 2);
  if (v.size() < 8u + n) return false;
  out.partition = v[1] != 0 ? std::optional<uint32_t>(p) : std::nullopt;
  out.topic = v.substr(8, n);
  out.message = v.substr(8 + n);
  return true;
}

std::string id_of(const storage::schedule_key& k) {
  return std::to_string(k.due_ms) + "-" + std::to_string(k.seq);
}

bool parse_id(std::string_view id, storage::schedule_key& out) {
  const auto dash = id.find('-');
  if (dash == std::string_view::npos || dash == 0) return false;
  const char* end = id.data() + id.size();
  auto [p1, e1] = std::from_chars(id.data(), id.data() + dash, out.due_ms);
  if (e1 != std::errc() || p1 != id.data() + dash || out.due_ms < 0) return false;
  auto [p2, e2] = std::from_chars(id.data() + dash + 1, end, out.seq);
  return e2 == std::errc() && p2 == end && dash + 1 < id.size();
}

}  // namespace ferry::broker::schedule_value
