// log_port: the storage operations of log topics, the logs subsystem's one door to
// storage. The server runs them on its committer and reader threads (server/storage_port);
// unit tests queue them and run them one by one (log_testing.h). Completions run on the
// broker loop.
#pragma once

#include <cstdint>
#include <functional>
#include <vector>

#include "proto/codec/errc.h"
#include "storage/log_store.h"

namespace ferry::broker {

// Storage operations of log topics. Completions run on the broker loop.
class log_port {
 public:
  using done_fn = std::function<void(const ferry::error&)>;
  struct read_result {
    ferry::error err;
    std::vector<uint8_t> buffer;
    std::vector<storage::stored_record> records;
  };
  using read_fn = std::function<void(read_result&&)>;
  using offset_fn = std::function<void(const ferry::error&, uint64_t)>;

  virtual void append(storage::partition_append a, bool sync, done_fn done) = 0;
  virtual void sync_wal(done_fn done) = 0;
  virtual void read(storage::partition_id pid, uint64_t from, size_t max_records, size_t max_bytes,
                    read_fn done) = 0;
  virtual void offset_for_time(storage::partition_id pid, int64_t ts_ms, offset_fn done) = 0;
  virtual void truncate_prefix(storage::partition_id pid, uint64_t new_start, done_fn done) = 0;
  virtual void drop_partition(storage::partition_id pid, done_fn done) = 0;

 protected:
  ~log_port() = default;
};

}  // namespace ferry::broker
