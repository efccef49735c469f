// log_partition: one partition of a log_topic (internal to logs/).
//
// Offsets: [start_, durable_) is on disk and readable; [durable_, next_) is being written
// (up to 8 writes in flight, completing in order); records get their offsets when they are
// submitted, and writes behind a failed one are refused by storage (append_fence), so a
// failed write leaves no gap.
#pragma once

#include <chrono>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/container/deque.hpp>
#include <boost/container_hash/hash.hpp>
#include <boost/unordered/unordered_flat_map.hpp>

#include "ferry/v1/publish.pb.h"

#include "broker/logs/log_port.h"
#include "broker/logs/log_probe.h"
#include "broker/logs/log_reader.h"
#include "broker/logs/log_settings.h"
#include "broker/topics/message.h"
#include "broker/topics/topic.h"
#include "support/lifetime.h"

namespace ferry::broker {

// The answer to one Publish frame, filled in as its partitions' writes complete.
struct publish_job {
  v1::PublishOk ok;
  uint32_t outstanding = 1;  // records and duplicate lookups not yet resolved, +1 while routing
  publish_done done;
  // From the Publish to its PublishOk (log_probe::confirm_seconds).
  std::chrono::steady_clock::time_point started = std::chrono::steady_clock::now();
  histogram* confirm_seconds = nullptr;

  void resolve_one() {
    if (--outstanding != 0) return;
    if (confirm_seconds) {
      const std::chrono::duration<double> took = std::chrono::steady_clock::now() - started;
      confirm_seconds->observe(took.count());
    }
    done({}, std::move(ok));
  }
};

// What a partition needs of its topic (owned by the topic, which outlives its partitions).
struct partition_context {
  std::string topic_name;
  uint32_t topic_id = 0;
  bool sync = true;  // fsync: always
  log_port& port;
  const log_settings& settings;
  log_probe& probe;
};

class log_partition {
 public:
  // A run of one producer's sequences written at consecutive offsets.
  struct recent_batch {
    uint64_t first_sequence = 0;
    uint32_t count = 0;
    uint64_t first_offset = 0;  // until assigned: the position in the pending write
    bool assigned = false;      // first_offset is an offset (the write was submitted)
    bool durable = false;       // and it completed
  };
  struct producer {
    bool any = false;
    uint64_t last_sequence = 0;
    int64_t last_seen_ms = 0;
    std::deque<recent_batch> recent;
  };

  log_partition(const partition_context& ctx, uint32_t index);

  storage::partition_id pid() const { return {ctx_.topic_id, index_}; }
  storage::partition_bounds bounds() const { return {start_, durable_, bytes_}; }
  void recovered(const storage::partition_bounds& b, const std::vector<storage::producer_state>& ps,
                 int64_t last_timestamp_ms);

  // ---- publishing (log_partition_append.cpp) ----
  // Checks an idempotent message's sequence: ok (accept), a duplicate (with its original
  // offset resolved now or when its write completes), or SEQUENCE_GAP.
  enum class sequence_check { accept, duplicate, gap };
  sequence_check check_sequence(std::string_view producer_id, uint64_t sequence,
                                uint64_t& expected) const;
  // Queues one message for the next write; the job learns its offset when it is durable.
  void add(const std::shared_ptr<publish_job>& job, uint32_t index, std::string_view message,
           const message_ref& ref, std::string_view producer_id, uint64_t sequence);
  // Resolves a duplicate's offset (now, or after the write that carries the original).
  void add_duplicate(const std::shared_ptr<publish_job>& job, uint32_t index,
                     std::string_view producer_id, uint64_t sequence);
  // Submits pending records unless 8 writes are in flight or a failure is draining.
  void kick();
  // In a cluster, why this node takes no publishes to the partition (NOT_LEADER: another
  // node leads it); empty when it does (always, on a single broker).
  const std::string& not_led_here() const { return not_led_here_; }
  void set_not_led_here(std::string why) { not_led_here_ = std::move(why); }

  // ---- reading (log_partition_read.cpp) ----
  void add_reader(log_reader& r);
  const std::vector<log_reader*>& readers() const { return readers_; }
  void remove_reader(log_reader& r);
  // Delivers what `r` has credit for: from the tail cache, or by reading storage.
  void pump(log_reader& r);
  void truncated(uint64_t new_start, uint64_t bytes_removed);

 private:
  struct waiter {
    std::shared_ptr<publish_job> job;
    uint32_t index;
  };
  struct dup_waiter {
    std::shared_ptr<publish_job> job;
    uint32_t index;
    std::string producer_id;
    uint64_t sequence;
  };
  struct write {
    bool doomed = false;  // queued behind a write that failed: storage refuses it too
    storage::partition_append append;
    std::vector<waiter> waiters;                            // one per record
    std::vector<message_ref> refs;                          // one per record, for the tail cache
    std::vector<std::pair<std::string, uint64_t>> batches;  // (producer, first sequence)
  };
  struct cached {
    uint64_t offset;
    message_ref ref;
  };

  void submit();
  void completed(write& w, const ferry::error& err);
  void fail_pending_of(const std::vector<std::string>& failed, const ferry::error& err);
  void resolve_duplicates(const ferry::error& err, const std::vector<std::string>& failed);
  bool resolve_duplicate(const dup_waiter& d);
  storage::producer_state persisted(const std::string& id, const producer& p) const;
  void start_read(log_reader& r, log_reader::cursor& cur);
  void read_done(log_reader& r, uint64_t epoch, uint64_t from, log_port::read_result&& res);
  void deliver(log_reader& r, log_reader::cursor& cur, const message_ref& ref, uint64_t offset);
  void wake_readers();

  const partition_context& ctx_;
  uint32_t index_;
  lifetime_token lifetime_;  // for storage callbacks

  uint64_t start_ = 0;    // oldest retained offset
  uint64_t durable_ = 0;  // end of what is on disk and visible
  uint64_t next_ = 0;     // next offset to assign
  uint64_t bytes_ = 0;    // approximate bytes retained
  int64_t last_timestamp_ = 0;

  // Looked up by string_view on the publish path, without building a key string.
  struct id_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return boost::hash<std::string_view>()(s); }
  };
  boost::unordered_flat_map<std::string, producer, id_hash, std::equal_to<>> producers_;
  write pending_;
  // Writes submitted and not yet completed, oldest first; storage completes them in order.
  // Boost's deque, as tail_: libstdc++'s allocates 576 bytes even when empty, and most
  // partitions of a broker with many topics are idle (bench topics-10k-idle).
  boost::container::deque<std::unique_ptr<write>> in_flight_;
  bool recovering_ = false;  // a write failed and the ones behind it are still coming back
  std::vector<dup_waiter> dup_waiters_;

  boost::container::deque<cached> tail_;  // newest durable records, in offset order
  size_t tail_bytes_ = 0;
  std::vector<log_reader*> readers_;
  std::string not_led_here_;
};

// Encoding of producer::recent in storage::producer_state::recent.
std::string encode_recent(const std::deque<log_partition::recent_batch>& recent);
std::deque<log_partition::recent_batch> decode_recent(std::string_view s);

}  // namespace ferry::broker
