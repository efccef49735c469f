// log_store: the records of log topics, over RocksDB's `log` column family.
//
// Key: topic id (u32 BE) + partition (u32 BE) + offset (u64 BE), so byte order is offset
// order: reads are one iterator with an upper bound, retention is one DeleteRange, and
// recovery seeks the last key of a partition to find its next offset. Value: an encoded
// record (record_codec.h): a small header (timestamp) followed by the ferry.v1.Message
// bytes exactly as the publisher sent them.
//
// Offsets are assigned by the broker (one writer per partition), dense from the
// partition's first offset. A write batch may span partitions and carries the idempotent
// producers' state with it (`meta` column family), so records and dedup state are
// durable together.
//
// Thread safety: every method may be called from any thread (RocksDB is thread-safe);
// the broker writes only through group_committer (one writer thread) and reads on its
// reader thread. Calls block.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "proto/codec/errc.h"

namespace ferry::storage {

struct partition_id {
  uint32_t topic = 0;  // the broker's topic id (stable, stored in meta)
  uint32_t partition = 0;
  auto operator<=>(const partition_id&) const = default;
};

// The state of one idempotent producer on one partition, written with its records.
struct producer_state {
  std::string producer_id;
  uint64_t last_sequence = 0;
  uint64_t last_offset = 0;  // offset of the record that carried last_sequence
  int64_t last_seen_ms = 0;  // wall clock, for expiry
  // Opaque to storage, stored and loaded as is: the broker's record of the producer's
  // recent batches (so a retried batch gets its original offsets back).
  std::string recent;
};

// Records of one partition, offsets first_offset, first_offset + 1, ...
// `data` holds the encoded record values back to back; ends[i] is where value i ends.
struct partition_append {
  partition_id pid;
  uint64_t first_offset = 0;
  std::vector<uint8_t> data;
  std::vector<uint32_t> ends;
  std::vector<producer_state> producers;  // state to store with these records

  size_t count() const { return ends.size(); }
  std::string_view value(size_t i) const {
    size_t begin = i == 0 ? 0 : ends[i - 1];
    return {reinterpret_cast<const char*>(data.data()) + begin, ends[i] - begin};
  }
};

// One record read back.
struct stored_record {
  uint64_t offset = 0;
  std::string_view value;  // encoded record; points into the read buffer
};

// The retained range of a partition: offsets [start, next).
struct partition_bounds {
  uint64_t start = 0;
  uint64_t next = 0;
  uint64_t bytes = 0;  // approximate size of the retained values
};

class log_store {
 public:
  virtual ~log_store() = default;

  // Writes every append of the batch atomically; with `sync`, the WAL is fsynced before
  // returning. Fails with DISK_FULL when there is no space (nothing is written then), and
  // with INVALID_ARGUMENT (nothing written) when an append's `ends` decrease or pass its
  // data, or its offsets reach UINT64_MAX (reserved: the end of a partition's key range).
  // Records are not checked against bounds(): the broker's writer assigns offsets.
  virtual ferry::error append(std::span<const partition_append* const> batch, bool sync) = 0;
  // Fsyncs what was written without sync so far (the fsync: interval policy).
  virtual ferry::error sync_wal() = 0;

  // Reads records of `pid` from offset `from` (inclusive) in order: at most max_records,
  // and stopping once max_bytes of values were read (at least one record if any exists).
  // Values are copied into `buffer` (cleared first); `out` (cleared first) points into it.
  // Offsets in `out` are dense from `from`. No records when `from` >= next or none are
  // retained; fails with OFFSET_OUT_OF_RANGE when `from` is below the first retained
  // record (retention took it, possibly while the reader was on its way).
  virtual ferry::error read(partition_id pid, uint64_t from, size_t max_records, size_t max_bytes,
                            std::vector<uint8_t>& buffer, std::vector<stored_record>& out) = 0;

  // The retained range, found from the keys (for recovery). {0, 0, 0} for an empty
  // partition that never had records; after retention removed everything, start == next.
  // `bytes` is the sum of the retained value sizes (0 when start == next): the unit the
  // broker adds as it appends. RocksDB gives it exactly up to 1024 records and past that
  // estimates it as count x mean size of 32 records sampled across the range.
  virtual ferry::error bounds(partition_id pid, partition_bounds& out) = 0;
  // The first offset whose record timestamp is >= ts_ms, or bounds().next when none is.
  // Timestamps are non-decreasing within a partition (the broker guarantees it).
  virtual ferry::error offset_for_time(partition_id pid, int64_t ts_ms, uint64_t& out) = 0;

  // Removes every record of `pid` with offset < new_start (one range delete), synced. The
  // log start stays at new_start even when the partition becomes empty (recorded in
  // meta). It never moves back: new_start <= the stored log start does nothing. With
  // new_start > next, every record goes and next becomes new_start:
  //   records 0..9, truncate_prefix(4)  -> bounds {4, 10}
  //   records 0..9, truncate_prefix(12) -> bounds {12, 12}; the next append is at 12
  virtual ferry::error truncate_prefix(partition_id pid, uint64_t new_start) = 0;
  // Removes every record and the stored state (log start, producers) of a partition
  // (topic deletion), synced. Afterwards bounds() is {0, 0, 0} again.
  virtual ferry::error drop_partition(partition_id pid) = 0;

  // Idempotent producers stored for `pid` (recovery), in producer_id byte order; `out`
  // is cleared first. A producer's state is the one of its latest append.
  virtual ferry::error load_producers(partition_id pid, std::vector<producer_state>& out) = 0;
};

}  // namespace ferry::storage
