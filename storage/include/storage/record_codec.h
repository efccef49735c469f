// record_codec: the value of one log record as stored.
//
//   byte 0      format version (1)
//   bytes 1..8  timestamp_ms, int64 little-endian (broker receipt time, wall clock)
//   bytes 9..   the ferry.v1.Message exactly as published (payload, key, headers, ...)
//
// The layout is fixed: changing it needs a new version byte. record_codec_test.cpp holds
// encode and decode to each other.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace ferry::storage {

constexpr uint8_t record_format_version = 1;
constexpr size_t record_header_bytes = 9;

struct record_view {
  int64_t timestamp_ms = 0;
  std::string_view message;  // encoded ferry.v1.Message
};

// Appends the encoded record to `out`.
void encode_record(std::vector<uint8_t>& out, int64_t timestamp_ms, std::string_view message);
// Decodes a stored value; nullopt when it is not a record of a known format.
std::optional<record_view> decode_record(std::string_view value);

// Log keys: topic id, partition, offset, big-endian (16 bytes).
constexpr size_t log_key_bytes = 16;
void encode_log_key(uint8_t* out, uint32_t topic, uint32_t partition, uint64_t offset);
struct log_key {
  uint32_t topic;
  uint32_t partition;
  uint64_t offset;
};
std::optional<log_key> decode_log_key(std::string_view key);

}  // namespace ferry::storage
