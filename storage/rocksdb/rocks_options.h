// The RocksDB options of the broker's one database: DB-wide options and one set per
// column family. Internal to storage/rocksdb/; the reasons for each choice are in the .cpp.
#pragma once

#include <rocksdb/options.h>

namespace ferry::storage {

rocksdb::DBOptions db_options(bool create_if_missing);
// `default` and `meta`: small, synced definition records; RocksDB's defaults.
rocksdb::ColumnFamilyOptions meta_cf_options();
// `log`: append-mostly records, read back in key order.
rocksdb::ColumnFamilyOptions log_cf_options();
// Messages waiting for their due time: the log's layout with small memtables, so a large
// schedule lives on disk rather than in memory.
rocksdb::ColumnFamilyOptions schedule_cf_options();

}  // namespace ferry::storage
