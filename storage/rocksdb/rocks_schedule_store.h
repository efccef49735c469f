// rocks_schedule_store: schedule_store over RocksDB's `schedule` column family. Scans
// stop at an upper bound (the due time asked for), so the tombstones of released entries
// past it are never walked; the caller starts each scan after what it released last.
// Due keys are 16 bytes starting below 0x80 (a due time is at most INT64_MAX); each entry
// also has an empty-valued group key after them: 0x80, the group, 0x00, the due key.
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
                     std::span<const schedule_ref> remove) override;
  ferry::error scan(const schedule_key& from, int64_t until_ms, const schedule_visit& fn) override;
  ferry::error scan_group(std::string_view group, const schedule_key& from,
                          const schedule_visit& fn) override;
  ferry::error get(const schedule_key& key, std::string& value, bool& found) override;

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
};

}  // namespace ferry::storage
