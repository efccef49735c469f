// schedule_store: messages waiting for their due time (delayed delivery), kept on disk in
// time order so that the broker holds nothing per waiting message in memory. A key is the
// due time (Unix ms) then a sequence that tells apart entries due in the same millisecond
// (16 bytes, big-endian: byte order is time order); the value is the broker's (topic and
// message), opaque here. Each entry also belongs to a group (its topic), listed in key
// order by scan_group() without walking the others. Every write is synced before it
// returns; calls block (RocksDB fsyncs), so the broker makes them on a storage thread.
// Implementations: RocksDB's `schedule` column family, and ordered maps for tests.
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
  std::string group;  // the topic it waits for
};

// An entry to remove: its key and its group.
struct schedule_ref {
  schedule_key key;
  std::string group;
  bool operator==(const schedule_ref&) const = default;
};

using schedule_visit = std::function<bool(const schedule_key& key, std::string_view value)>;

class schedule_store {
 public:
  virtual ~schedule_store() = default;
  // Adds `add` and removes `remove` in one synced batch: all of it or none.
  virtual ferry::error apply(std::span<const schedule_entry> add,
                             std::span<const schedule_ref> remove) = 0;
  // Calls `fn` for each entry from `from` (inclusive) on, in key order, while its due time
  // is at most `until_ms` and `fn` returns true.
  virtual ferry::error scan(const schedule_key& from, int64_t until_ms,
                            const schedule_visit& fn) = 0;
  // The same for the entries of one group only, from `from` (inclusive) on.
  virtual ferry::error scan_group(std::string_view group, const schedule_key& from,
                                  const schedule_visit& fn) = 0;
  // One entry's value; `found` false if there is none.
  virtual ferry::error get(const schedule_key& key, std::string& value, bool& found) = 0;
};

}  // namespace ferry::storage
