// memory_log_store: the reference implementation of log_store, held in memory.
//
// One ordered map of records per partition, plus the stored log start and producers,
// behind one mutex (every method may be called from any thread, as with RocksDB). Its
// semantics are the contract: log_store_test.cpp runs the same suite against it and
// rocks_log_store. Used by the contract tests and by broker unit tests (through
// make_memory_engine()).
#pragma once

#include <map>
#include <mutex>
#include <string>

#include "storage/log_store.h"

namespace ferry::storage {

class memory_log_store final : public log_store {
 public:
  // log_store
  ferry::error append(std::span<const partition_append* const> batch, bool sync) override;
  ferry::error sync_wal() override;
  ferry::error read(partition_id pid, uint64_t from, size_t max_records, size_t max_bytes,
                    std::vector<uint8_t>& buffer, std::vector<stored_record>& out) override;
  ferry::error bounds(partition_id pid, partition_bounds& out) override;
  ferry::error offset_for_time(partition_id pid, int64_t ts_ms, uint64_t& out) override;
  ferry::error truncate_prefix(partition_id pid, uint64_t new_start) override;
  ferry::error drop_partition(partition_id pid) override;
  ferry::error load_producers(partition_id pid, std::vector<producer_state>& out) override;

  // While set (non-zero code), append and sync_wal fail with `err` and write nothing:
  // lets broker tests see DISK_FULL without filling a disk. Clear with {}.
  void fail_writes_for_test(ferry::error err);

 private:
  struct partition {
    std::map<uint64_t, std::string> records;
    uint64_t log_start = 0;  // raised by truncate_prefix, never lowered
    uint64_t bytes = 0;      // sum of the sizes of `records`' values
    std::map<std::string, producer_state> producers;
  };
  // The partition's range [start, next). Lock must be held.
  static partition_bounds bounds_of(const partition& p);

  std::mutex mu_;
  std::map<partition_id, partition> partitions_;
  ferry::error write_error_;
};

}  // namespace ferry::storage
