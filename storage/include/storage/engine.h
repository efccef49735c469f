// engine: the broker's one RocksDB instance and the stores over it.
//
// Column families are a fixed set opened at start (like Kvrocks): `meta` for definitions
// and offsets, `log` for log-topic records (used by log topics), `schedule` for messages
// waiting for their due time (delayed delivery); one missing from an older data directory
// is created at open. Opening fails with one
// clear message when the directory cannot be used; the broker then exits non-zero.
#pragma once

#include <memory>
#include <string>

#include "proto/codec/errc.h"
#include "storage/log_store.h"
#include "storage/meta_store.h"
#include "storage/schedule_store.h"

namespace ferry::storage {

// The engine's write health, for the broker to report (and hold publishes on). A write
// stall makes appends wait inside the engine: delayed (slowed to delayed_write_rate) or
// stopped (until compaction catches up, however long that takes).
struct storage_health {
  enum class stall { none, delayed, stopped };
  stall write_stall = stall::none;
  uint64_t delayed_write_rate = 0;        // bytes/s, while delayed
  uint64_t log_l0_files = 0;              // L0 files of the log records
  uint64_t meta_l0_files = 0;             // L0 files of definitions, producers, offsets
  uint64_t pending_compaction_bytes = 0;  // RocksDB's estimate, all column families
  uint64_t running_compactions = 0;
  bool operator==(const storage_health&) const = default;
};

class engine {
 public:
  virtual ~engine() = default;
  virtual meta_store& meta() = 0;
  virtual log_store& log() = 0;
  virtual schedule_store& schedule() = 0;
  // Cheap (a few property reads): may be called every second.
  virtual storage_health health() const { return {}; }
};

struct engine_options {
  std::string data_dir;
  bool create_if_missing = true;
};

// Opens (or creates) the RocksDB directory. On failure returns nullptr and sets `err`.
std::unique_ptr<engine> open_rocks_engine(const engine_options& opts, ferry::error& err);

// An engine held in memory only: for unit tests of the layers above storage.
std::unique_ptr<engine> make_memory_engine();

}  // namespace ferry::storage
