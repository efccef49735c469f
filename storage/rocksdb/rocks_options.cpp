#include "storage/rocksdb/rocks_options.h"

#include <algorithm>
#include <cstdarg>
#include <cstdio>

#include <rocksdb/convenience.h>
#include <rocksdb/table.h>

namespace ferry::storage {
namespace {

// RocksDB's own log, to stderr instead of a LOG file in the data dir. When the disk
// fills, writing that file fails too, and Debian's librocksdb (built with assertions)
// aborts on the next log line after a failed one (WritableFileWriter's
// sync_without_flush_called_ assertion, from the thread that waits for free space): the
// broker must report DISK_FULL, not die. Warnings and errors only.
class stderr_logger final : public rocksdb::Logger {
 public:
  stderr_logger() : rocksdb::Logger(rocksdb::WARN_LEVEL) {}
  using rocksdb::Logger::Logv;
  void Logv(const char* format, va_list ap) override {
    char line[1024];
    int n = std::vsnprintf(line, sizeof line, format, ap);
    if (n < 0) return;
    size_t len = std::min(static_cast<size_t>(n), sizeof line - 1);
    while (len > 0 && line[len - 1] == '\n')
      --len;
    std::fprintf(stderr, "rocksdb: %.*s\n", static_cast<int>(len), line);  // one call: whole lines
  }
};

}  // namespace

rocksdb::DBOptions db_options(bool create_if_missing) {
  rocksdb::DBOptions o;
  o.create_if_missing = create_if_missing;
  o.create_missing_column_families = true;
  o.info_log_level = rocksdb::WARN_LEVEL;
  o.info_log = std::make_shared<stderr_logger>();
  // The meta CF is written rarely, so its memtable would pin every WAL file written since
  // its last flush; past this total RocksDB flushes it and old WAL files go. Also bounds
  // the WAL replayed at restart.
  o.max_total_wal_size = 512ull << 20;
  // Write SST data back in 1 MiB steps instead of one burst at the file's end, so a flush
  // does not stall the WAL fsyncs of synced appends behind it.
  o.bytes_per_sync = 1 << 20;
  // After a crash, replay the WAL into the memtables and keep it, instead of writing each
  // column family's replayed memtable to a new L0 file before the DB opens (RocksDB's
  // default). With the default every restart adds an L0 file to `log` and one to `meta`,
  // however little was written: a crash loop adds them faster than an L0 compaction that
  // the next kill interrupts can take them away. The kept WAL files go when their data is
  // flushed as usual; max_total_wal_size above still bounds them, and so the replay.
  o.avoid_flush_during_recovery = true;
  // No recycle_log_file_num: RocksDB before 9.1 sets it to 0 with the default
  // kPointInTimeRecovery (SanitizeOptions; the OPTIONS file says recycle_log_file_num=0),
  // so it never took effect here. 9.1 allows it again, and 9.2 fixes a bug of turning it
  // on for a DB that ran without it: measure it again on such a version before using it.
  return o;
}

rocksdb::ColumnFamilyOptions meta_cf_options() {
  return rocksdb::ColumnFamilyOptions();
}

rocksdb::ColumnFamilyOptions schedule_cf_options() {
  rocksdb::ColumnFamilyOptions o = log_cf_options();
  o.write_buffer_size = 8 << 20;
  o.max_write_buffer_number = 2;
  return o;
}

rocksdb::ColumnFamilyOptions log_cf_options() {
  rocksdb::ColumnFamilyOptions o;
  // Large memtables: the tail that live readers read stays in memory longer, and flushes
  // are fewer and larger. Four of them, so appends go on while earlier ones flush.
  o.write_buffer_size = 128 << 20;
  o.max_write_buffer_number = 4;
  // Level compaction as by default; dynamic level sizes keep space amplification near 1.1
  // as the log grows and shrinks with retention.
  o.level_compaction_dynamic_level_bytes = true;
  // Small compactions. A flush holds the newest records of every partition written since
  // the last one, so each L0 file spans all of them and overlaps nearly all of the base
  // level: every L0 compaction (one job over all L0 files, in one piece: a kill loses all
  // of it) rewrites the base level too. A 64 MiB base level (RocksDB: 256 MiB) and 16 MiB
  // files (were 128 MiB) bound that job to about the L0 files plus 64 MiB, a few seconds
  // here instead of tens under load, so compaction makes progress between restarts.
  o.max_bytes_for_level_base = 64 << 20;
  o.target_file_size_base = 16 << 20;
  // LZ4 when the library has it (Debian's does): cheap enough not to limit catch-up
  // reads, and often a good gain on JSON-like payloads.
  auto supported = rocksdb::GetSupportedCompressions();
  bool lz4 =
      std::find(supported.begin(), supported.end(), rocksdb::kLZ4Compression) != supported.end();
  o.compression = lz4 ? rocksdb::kLZ4Compression : rocksdb::kNoCompression;

  rocksdb::BlockBasedTableOptions t;
  // Reads are scans: 64 KiB blocks mean fewer block reads and index entries per MB, and
  // compress better. The few point reads (offset_for_time) pay for a larger block.
  t.block_size = 64 << 10;
  // An iterator that reads blocks in sequence reads ahead, from one block doubling up to
  // 2 MiB (RocksDB's default stops at 256 KiB): cold catch-up reads here went from
  // ~450-600 to ~600-750 MB/s, and reads of a few records never trigger it.
  t.initial_auto_readahead_size = 64 << 10;
  t.max_auto_readahead_size = 2 << 20;
  // No filter: log reads are Seeks and range scans, which whole-key Bloom filters do not
  // serve, so one would only cost memory and write time.
  // Block cache: RocksDB's default (8 MiB, this CF's own). log_store::read() does not fill
  // it (rocks_log_store_read.cpp); the time lookups and size samples use it.
  o.table_factory.reset(rocksdb::NewBlockBasedTableFactory(t));
  return o;
}

}  // namespace ferry::storage
