// meta_keys: the keys of the broker's definitions in the `meta` column family, and the
// encoding of their small values. The one place these bytes are spelled out; the broker
// builds keys only through here (its catalog, broker/catalog/).
//
//   topic/NAME                 -> ferry.v1.TopicInfo (name, kind, options, topic id)
//   sub/NAME                   -> ferry.v1.SubscriptionInfo (name, pattern, options as asked)
//   counter/topic_id           -> u32 LE: the next log-topic id (ids are never reused)
//   group/NAME                 -> the topic the group reads (UTF-8)
//   offset/GROUP/PARTITION     -> u64 LE: the group's committed offset (PARTITION in decimal)
//   user/NAME                  -> ferry.v1.UserRecord (groups, SCRAM keys: never a password)
//   token/ID                   -> ferry.v1.TokenRecord (principal, expiry, SHA-256 of the secret)
//   acl/RULE                   -> ferry.v1.AclRule (RULE: kind, effect, principal, pattern)
//
// The log store's own meta keys (`logstart/`, `producer/`) are in rocksdb/rocks_log_store.h.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace ferry::storage::meta_keys {

inline constexpr std::string_view topic_prefix = "topic/";
inline constexpr std::string_view subscription_prefix = "sub/";
inline constexpr std::string_view group_prefix = "group/";
inline constexpr std::string_view topic_id_counter = "counter/topic_id";
inline constexpr std::string_view user_prefix = "user/";
inline constexpr std::string_view token_prefix = "token/";
inline constexpr std::string_view acl_prefix = "acl/";

std::string topic(std::string_view name);
std::string subscription(std::string_view name);
std::string group(std::string_view name);
std::string user(std::string_view name);
std::string token(std::string_view id);
std::string acl(std::string_view rule_id);
// "offset/GROUP/": every committed offset of one group.
std::string offset_prefix(std::string_view group);
std::string offset(std::string_view group, uint32_t partition);
// A shared subscription's delivery state of one partition (broker/shares/share_state.h).
std::string share_prefix(std::string_view subscription);
std::string share(std::string_view subscription, uint32_t partition);

// The NAME of a key under `prefix` ("topic/orders" -> "orders").
std::string_view name_of(std::string_view key, std::string_view prefix);
// The partition of an offset key under offset_prefix(group); nullopt when malformed.
std::optional<uint32_t> partition_of(std::string_view key, std::string_view prefix);

std::string encode_u32(uint32_t v);
std::string encode_u64(uint64_t v);
// nullopt when `s` is not exactly 4 (8) bytes.
std::optional<uint32_t> decode_u32(std::string_view s);
std::optional<uint64_t> decode_u64(std::string_view s);

}  // namespace ferry::storage::meta_keys
