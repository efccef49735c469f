#include "storage/meta_keys.h"

#include <charconv>

namespace ferry::storage::meta_keys {
namespace {

template <typename T>
std::string encode_le(T v) {
  std::string out(sizeof(T), '\0');
  for (size_t i = 0; i < sizeof(T); ++i)
    out[i] = static_cast<char>((v >> (8 * i)) & 0xFF);
  return out;
}

template <typename T>
std::optional<T> decode_le(std::string_view s) {
  if (s.size() != sizeof(T)) return std::nullopt;
  T v = 0;
  for (size_t i = 0; i < sizeof(T); ++i)
    v |= static_cast<T>(static_cast<uint8_t>(s[i])) << (8 * i);
  return v;
}

std::string join(std::string_view prefix, std::string_view name) {
  std::string k;
  k.reserve(prefix.size() + name.size());
  k.append(prefix).append(name);
  return k;
}

}  // namespace

std::string topic(std::string_view name) {
  return join(topic_prefix, name);
}
std::string subscription(std::string_view name) {
  return join(subscription_prefix, name);
}
std::string group(std::string_view name) {
  return join(group_prefix, name);
}

std::string user(std::string_view name) {
  return join(user_prefix, name);
}

std::string token(std::string_view id) {
  return join(token_prefix, id);
}

std::string acl(std::string_view rule_id) {
  return join(acl_prefix, rule_id);
}
std::string offset_prefix(std::string_view group) {
  return join("offset/", group) + "/";
}
std::string offset(std::string_view group, uint32_t partition) {
  return offset_prefix(group) + std::to_string(partition);
}
std::string share_prefix(std::string_view subscription) {
  return join("share/", subscription) + "/";
}
std::string share(std::string_view subscription, uint32_t partition) {
  return share_prefix(subscription) + std::to_string(partition);
}

std::string_view name_of(std::string_view key, std::string_view prefix) {
  return key.starts_with(prefix) ? key.substr(prefix.size()) : std::string_view{};
}

std::optional<uint32_t> partition_of(std::string_view key, std::string_view prefix) {
  std::string_view digits = name_of(key, prefix);
  uint32_t p = 0;
  auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size())
    return std::nullopt;
  return p;
}

std::string encode_u32(uint32_t v) {
  return encode_le(v);
}
std::string encode_u64(uint64_t v) {
  return encode_le(v);
}
std::optional<uint32_t> decode_u32(std::string_view s) {
  return decode_le<uint32_t>(s);
}
std::optional<uint64_t> decode_u64(std::string_view s) {
  return decode_le<uint64_t>(s);
}

}  // namespace ferry::storage::meta_keys
