// schedule_store: messages waiting for their due time (delayed delivery), kept on disk in
// time order so that the broker holds nothing per waiting message in memory. A key is the
// due time (Unix ms) then a sequence that tells apart entries due in the same millisecond
// (16 bytes, big-endian: byte order is time order); the value is the broker's (topic and
// message), opaque here. Every write is synced before it returns; calls block (RocksDB
// fsyncs), so the broker makes them on a storage thread. Implementations: RocksDB's
// `schedule` column family, and an ordered map for tests.
#pragma once

#include <compare>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <string_view>

#include "proto/codec/errc.h"

namespace ferry::storage {

struct schedule_key {
  int64_t due_ms = 0;  // Unix ms, not negative
  uint64_t seq = 0;
  auto operator<=>(const schedule_key&) const = default;
};

inline constexpr size_t schedule_key_bytes = 16;
std::string encode_schedule_key(const schedule_key& k);
// False unless `bytes` is a key encode_schedule_key wrote.
bool decode_schedule_key(std::string_view bytes, schedule_key& out);

struct schedule_entry {
  schedule_key key;
  std::string value;
};

class schedule_store {
 public:
  virtual ~schedule_store() = default;
  // Adds `add` and removes `remove` in one synced batch: all of it or none.
  virtual ferry::error apply(std::span<const schedule_entry> add,
                             std::span<const schedule_key> remove) = 0;
  // Calls `fn` for each entry from `from` (inclusive) on, in key order, while its due time
  // is at most `until_ms` and `fn` returns true.
  virtual ferry::error scan(
      const schedule_key& from, int64_t until_ms,
      const std::function<bool(const schedule_key& key, std::string_view value)>& fn) = 0;
};

}  // namespace ferry::storage
