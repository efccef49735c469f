// engine: the broker's one RocksDB instance and the stores over it.
//
// Column families are a fixed set opened at start (like Kvrocks): `meta` for definitions
// and offsets, `log` for log-topic records (used by log topics). Opening fails with one
// clear message when the directory cannot be used; the broker then exits non-zero.
#pragma once

#include <memory>
#include <string>

#include "proto/codec/errc.h"
#include "storage/log_store.h"
#include "storage/meta_store.h"

namespace ferry::storage {

class engine {
 public:
  virtual ~engine() = default;
  virtual meta_store& meta() = 0;
  virtual log_store& log() = 0;
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
