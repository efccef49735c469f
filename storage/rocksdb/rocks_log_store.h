// rocks_log_store: log_store over the `log` column family of the engine's RocksDB.
//
// Owns nothing: the engine owns the DB and the column family handles and outlives this.
// Layout:
//   log CF   key(topic, partition, offset) (record_codec.h) -> encoded record
//   meta CF  "logstart/" + pid (8 bytes BE)  -> u64 LE, the log start after truncations
//            "producer/" + pid + producer_id  -> producer value (rocks_log_store.cpp)
// The meta keys share the CF with meta_store's definitions ("topic/", "sub/"), which
// never use these prefixes.
//
// Every method may be called from any thread (RocksDB is thread-safe); truncate_prefix
// and drop_partition are serialized among themselves here.
#pragma once

#include <array>
#include <mutex>
#include <string>

#include <rocksdb/db.h>

#include "storage/log_store.h"
#include "storage/record_codec.h"

namespace ferry::storage {

class rocks_log_store final : public log_store {
 public:
  rocks_log_store(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* log_cf,
                  rocksdb::ColumnFamilyHandle* meta_cf)
      : db_(db), log_cf_(log_cf), meta_cf_(meta_cf) {}

  // log_store (rocks_log_store.cpp)
  ferry::error append(std::span<const partition_append* const> batch, bool sync) override;
  ferry::error sync_wal() override;
  ferry::error truncate_prefix(partition_id pid, uint64_t new_start) override;
  ferry::error drop_partition(partition_id pid) override;
  ferry::error load_producers(partition_id pid, std::vector<producer_state>& out) override;

  // log_store (rocks_log_store_read.cpp)
  ferry::error read(partition_id pid, uint64_t from, size_t max_records, size_t max_bytes,
                    std::vector<uint8_t>& buffer, std::vector<stored_record>& out) override;
  ferry::error bounds(partition_id pid, partition_bounds& out) override;
  ferry::error offset_for_time(partition_id pid, int64_t ts_ms, uint64_t& out) override;

 private:
  // The stored log start of `pid`, 0 when none was stored.
  ferry::error stored_log_start(partition_id pid, uint64_t& out);
  // bounds() without the size.
  ferry::error offset_range(partition_id pid, uint64_t& start, uint64_t& next);
  // Sets out.bytes for [out.start, out.next): summed, or estimated.
  ferry::error sum_value_bytes(partition_id pid, partition_bounds& out);
  ferry::error estimate_value_bytes(partition_id pid, partition_bounds& out);

  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* log_cf_;
  rocksdb::ColumnFamilyHandle* meta_cf_;
  std::mutex truncate_mu_;  // truncate_prefix reads, then raises, the stored log start
};

// Keys of the layout above, shared by the two .cpp files.
namespace rocks_keys {

using log_key_bytes_t = std::array<char, log_key_bytes>;
inline log_key_bytes_t log(partition_id pid, uint64_t offset) {
  log_key_bytes_t k;
  encode_log_key(reinterpret_cast<uint8_t*>(k.data()), pid.topic, pid.partition, offset);
  return k;
}
// Exclusive upper bound of every key of `pid`; offset UINT64_MAX is never stored
// (check_append refuses it).
inline log_key_bytes_t log_end(partition_id pid) {
  return log(pid, UINT64_MAX);
}
inline rocksdb::Slice slice(const log_key_bytes_t& k) {
  return {k.data(), k.size()};
}

std::string log_start(partition_id pid);
std::string producer_prefix(partition_id pid);

}  // namespace rocks_keys

// "<what> partition <topic>/<partition>", for error messages.
std::string about_partition(std::string_view what, partition_id pid);

}  // namespace ferry::storage
