// log_topic: a Kafka-like topic: N partitions, each an append-only log in RocksDB with
// dense offsets.
//
// Owns its partitions' in-memory state: the next offset to assign, the durable end that
// readers may see, idempotent producers' recent batches, records waiting for the next
// write (pipelined, up to 8 writes in flight per partition; the committer merges whatever
// queued, all partitions, into one batch and one fsync: group commit), a cache of the
// newest records for readers at the tail, and the readers themselves.
//
// Storage is reached through log_port (the server runs it on the committer and reader
// threads and completes on the broker loop; unit tests queue its operations and run them
// one by one: testing_port in log_testing.h). No Asio here. Broker loop only.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/log.pb.h"
#include "ferry/v1/publish.pb.h"

#include "broker/core/clock.h"
#include "broker/topics/consumer.h"
#include "broker/topics/message.h"
#include "proto/codec/frame_codec.h"
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

struct log_config {
  size_t max_message_bytes = 1 << 20;
  size_t tail_cache_bytes = 8 << 20;  // per partition
  size_t read_batch_bytes = 1 << 20;  // per storage read
  uint32_t default_credit = 10000;
  uint32_t max_credit = 1'000'000;
  int64_t default_retention_ms = 7LL * 24 * 3600 * 1000;
  int64_t default_retention_bytes = -1;  // unlimited
  uint32_t recent_batches = 5;           // per producer and partition, for retried batches
};

class log_partition;

// One consumer's reading of a log topic: a cursor per partition.
class log_reader {
 public:
  struct cursor {
    uint64_t next = 0;     // the next offset to deliver
    bool reading = false;  // a storage read is under way
    uint64_t epoch = 0;    // bumped by seek/detach, so stale reads are dropped
  };
  log_reader(consumer& c, class log_topic& t) : consumer_(c), topic_(t) {}
  consumer& owner() { return consumer_; }
  class log_topic& topic() {
    return topic_;
  }
  std::map<uint32_t, cursor>& cursors() { return cursors_; }
  // Expires with the reader: storage reads completing later check it.
  std::weak_ptr<bool> token() const { return alive_; }
  // A fresh cursor epoch, never reused by this reader (also across removing and adding
  // back a partition), so a read in flight for an old position is recognised.
  uint64_t new_epoch() { return ++epochs_; }

 private:
  consumer& consumer_;
  class log_topic& topic_;
  std::map<uint32_t, cursor> cursors_;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  uint64_t epochs_ = 0;
};

class log_topic {
 public:
  using publish_done = std::function<void(ferry::error, v1::PublishOk)>;

  log_topic(std::string name, uint32_t id, v1::TopicOptions options, log_port& port,
            const clock& clk, const log_config& cfg);
  ~log_topic();
  log_topic(const log_topic&) = delete;
  log_topic& operator=(const log_topic&) = delete;

  const std::string& name() const { return name_; }
  uint32_t id() const { return id_; }
  const v1::TopicOptions& options() const { return options_; }
  uint32_t partition_count() const { return static_cast<uint32_t>(partitions_.size()); }
  bool valid_partition(uint32_t p) const { return p < partitions_.size(); }
  storage::partition_bounds bounds(uint32_t p) const;

  // Recovery: every partition's bounds and producers (blocking; at start only).
  ferry::error recover(storage::log_store& store);

  // Appends one Publish frame's messages. `buf` holds the frame body (`pv` and `messages`
  // point into it). `done` runs once every accepted message is durable as the topic's
  // fsync policy says (or failed); a whole-frame refusal comes back as an error.
  void publish(const codec::publish_view& pv, std::span<const std::string_view> messages,
               const bytes_ref& buf, publish_done done);

  // ---- readers ----
  // Starts delivering `starts` to `c` (c.reader() becomes the reader). Positions must be
  // resolved (EARLIEST/LATEST/OFFSET; TIME first through resolve_time()).
  ferry::error attach(consumer& c, std::span<const v1::PartitionStart> starts,
                      std::vector<v1::PartitionAssignment>& assigned);
  void detach(consumer& c);
  // Detaches every reader, telling each consumer's sink (the topic is going away).
  void cancel_readers(errc code, std::string_view why);
  // Adds or removes partitions of an attached reader (consumer groups).
  ferry::error add_partition(consumer& c, uint32_t partition, uint64_t next);
  void remove_partition(consumer& c, uint32_t partition);
  // `n` deliveries were consumed: send more.
  void credit(consumer& c, uint32_t n);
  // Moves a reader in one of its partitions; OFFSET_OUT_OF_RANGE names the valid range.
  ferry::error seek(consumer& c, uint32_t partition, uint64_t offset);
  // Finds the offset a position names; TIME asks storage (asynchronously).
  void resolve(uint32_t partition, const v1::Position& pos,
               std::function<void(ferry::error, uint64_t)> done);

  // ---- timers and introspection ----
  // Runs the fsync-interval flush and retention when due.
  void on_tick(int64_t steady_now);
  // Removes the topic's records from storage (the topic is being deleted).
  void drop_storage();
  void describe(v1::TopicInfo& out) const;
  uint64_t published() const { return published_; }

 private:
  friend class log_partition;
  log_partition& partition(uint32_t p) { return *partitions_[p]; }
  void run_retention();

  std::string name_;
  uint32_t id_;
  v1::TopicOptions options_;
  log_port& port_;
  const clock& clock_;
  const log_config& cfg_;
  std::vector<std::unique_ptr<log_partition>> partitions_;
  std::vector<log_reader*> readers_;  // every attached reader, with partitions or not
  uint32_t round_robin_ = 0;
  uint64_t published_ = 0;
  int64_t last_sync_ = 0;
  int64_t last_retention_ = 0;
  bool sync_in_flight_ = false;
  uint32_t retention_in_flight_ = 0;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // for storage callbacks
};

}  // namespace ferry::broker
