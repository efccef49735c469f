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
//
// Ownership: the log registry owns topics; a topic owns its partitions and its readers;
// partitions point at the readers of their partition (remove_reader before a reader
// goes); storage callbacks hold lifetime watches of the topic, partition and reader.
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
#include "broker/core/rate_meter.h"
#include "broker/logs/log_partition.h"
#include "broker/logs/log_port.h"
#include "broker/logs/log_reader.h"
#include "broker/logs/log_settings.h"
#include "broker/topics/consumer.h"
#include "broker/topics/message.h"
#include "broker/topics/topic.h"
#include "proto/codec/frame_codec.h"
#include "storage/log_store.h"
#include "support/lifetime.h"

namespace ferry::broker {

class log_partition;
struct publish_job;

class log_topic final : public topic {
 public:
  log_topic(std::string name, uint32_t id, v1::TopicOptions options, log_port& port,
            const loop_clock& clock, const log_settings& settings, log_probe& probe);
  ~log_topic();
  log_topic(const log_topic&) = delete;
  log_topic& operator=(const log_topic&) = delete;

  // topic
  const std::string& name() const override { return name_; }
  v1::TopicKind kind() const override { return v1::LOG; }
  const v1::TopicOptions& options() const override { return options_; }
  void describe(v1::TopicInfo& out) const override;
  // Appends one Publish frame's messages to partitions. `done` runs once every accepted
  // message is durable as the topic's fsync policy says (or failed); a whole-frame
  // refusal comes back as an error.
  void publish(publish_request& r, publish_done done) override;

  uint32_t id() const { return id_; }
  uint32_t partition_count() const { return static_cast<uint32_t>(partitions_.size()); }
  bool valid_partition(uint32_t p) const { return p < partitions_.size(); }
  storage::partition_bounds bounds(uint32_t p) const;
  // In a cluster: why partition `p` takes no publishes here (empty: it does).
  void set_not_led_here(uint32_t p, std::string why) {
    partition(p).set_not_led_here(std::move(why));
  }

  // Recovery: every partition's bounds and producers (blocking; at start only).
  ferry::error recover(storage::log_store& store);

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
  uint64_t published() const { return published_; }

 private:
  log_partition& partition(uint32_t p) { return *partitions_[p]; }
  ferry::error check_publish(const codec::publish_view& pv) const;
  // The idempotent producer's sequence check of message `i`: false when it is a
  // duplicate (resolved by the partition) or refused (in job->ok).
  bool admit_sequence(log_partition& part, const std::shared_ptr<struct publish_job>& job,
                      uint32_t i, std::string_view producer_id, uint64_t seq);
  void run_retention();
  // Retention: removes partition p's records below `new_start` (bounded by its end).
  void truncate_to(uint32_t p, uint64_t new_start, double avg_record_bytes);

  std::string name_;
  uint32_t id_;
  v1::TopicOptions options_;
  log_port& port_;
  const loop_clock& clock_;
  const log_settings& settings_;
  partition_context partition_ctx_;
  std::vector<std::unique_ptr<log_partition>> partitions_;
  std::vector<std::unique_ptr<log_reader>> readers_;  // every attached reader
  uint32_t round_robin_ = 0;
  uint64_t published_ = 0;
  uint64_t published_bytes_ = 0;
  mutable rate_meter publish_rate_, publish_bytes_rate_;  // sampled by describe
  int64_t last_sync_ = 0;
  int64_t last_retention_ = 0;
  bool sync_in_flight_ = false;
  uint32_t retention_in_flight_ = 0;
  lifetime_token lifetime_;  // for storage callbacks
};

}  // namespace ferry::broker
