// rocks_schedule_store: schedule_store over RocksDB's `schedule` column family. Scans
// stop at an upper bound (the due time asked for), so the tombstones of released entries
// past it are never walked; the caller starts each scan after what it released last.
#pragma once

#include "storage/schedule_store.h"

namespace rocksdb {
class DB;
class ColumnFamilyHandle;
}  // namespace rocksdb

namespace ferry::storage {

class rocks_schedule_store final : public schedule_store {
 public:
  rocks_schedule_store(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  ferry::error apply(std::span<const schedule_entry> add,
                     std::span<const schedule_key> remove) override;
  ferry::error scan(const schedule_key& from, int64_t until_ms,
                    const std::function<bool(const schedule_key&, std::string_view)>& fn) override;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
};

}  // namespace ferry::storage
