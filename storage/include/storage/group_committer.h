// group_committer: the one writer of log records. Publishes from many connections that
// arrive while a write is in flight are committed together: one WriteBatch and, if any
// of them asked for it, one WAL fsync for all (group commit).
//
// Owns a thread. submit() may be called from any thread; `done` runs on the committer
// thread once the request's batch is written (synced if asked), with the batch's error,
// and must only hand the result on (post it to the broker loop), not block or throw.
// Requests are written in the order they were submitted, so one partition's appends
// (submitted by its one writer in offset order) land in order.
//
// An unsynced append may instead be written on the caller's thread (write_now) when the
// committer is idle: at low load that saves two thread hand-offs (caller -> committer ->
// caller), which dominated the tail of unsynced publishes. The caller decides when load is
// low (storage_port: no append of its own in flight), so bursts still go to the committer
// and are batched. Only one writer holds the store at a time (the committer's batch or one
// write_now), so one partition's appends still land in submission order.
//
// Lifecycle: construct (starts the thread), submit..., stop() (finishes everything
// submitted, then joins). The destructor stops. After stop(), submit() and sync() call
// `done` at once, on the caller's thread, with SHUTTING_DOWN.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <mutex>
#include <optional>
#include <span>
#include <thread>
#include <vector>

#include "storage/append_fence.h"
#include "storage/log_store.h"
#include "support/histogram.h"

namespace ferry::storage {

// Counted for every batch written or attempted (failed ones too).
struct commit_stats {
  uint64_t batches = 0;   // WriteBatches written (store.append calls)
  uint64_t requests = 0;  // requests answered, sync requests included
  uint64_t records = 0;
  uint64_t syncs = 0;  // WAL fsyncs (synced appends and sync_wal calls)
  // Seconds per synced write (the WriteBatch and its fsync, or a sync_wal alone).
  histogram sync_seconds = latency_histogram();
  // Records per WriteBatch.
  histogram batch_records{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 4096, 16384};
};

class group_committer {
 public:
  using callback = std::function<void(const ferry::error&)>;

  explicit group_committer(log_store& store, size_t max_batch_bytes = 16 << 20);
  ~group_committer();
  group_committer(const group_committer&) = delete;
  group_committer& operator=(const group_committer&) = delete;

  // Queues records for the next batch; `sync` asks for a WAL fsync before `done`. A
  // malformed append (see log_store::append) is refused at once: `done` runs on the
  // caller's thread with INVALID_ARGUMENT.
  void submit(partition_append append, bool sync, callback done);
  // Writes an unsynced append of at most kWriteNowBytes of data right here, on the
  // caller's thread, if the committer is idle (nothing queued, no write in flight) and not
  // stopped, and returns its result (a malformed append: INVALID_ARGUMENT, not written).
  // Empty: nothing was done, submit it.
  std::optional<ferry::error> write_now(const partition_append& append);
  static constexpr size_t kWriteNowBytes = 64 << 10;
  // Queues an fsync of everything written so far (fsync: interval); `done` after it.
  void sync(callback done);
  void stop();
  commit_stats stats() const;

 private:
  struct request {
    partition_append append;
    bool sync = false;
    bool sync_only = false;
    callback done;
  };
  void enqueue(request r);
  void run();
  void take_batch(std::vector<request>& batch);
  void commit(std::vector<request>& batch);
  // Writes admitted appends (none: a WAL sync) for `requests` requests, counts it and
  // lets go of the store, in one critical section; the store's error. Only while holding
  // the store (writing_).
  ferry::error write(std::span<const partition_append* const> appends, bool sync, size_t requests);
  void release_store();  // lock held

  log_store& store_;
  size_t max_batch_bytes_;
  mutable std::mutex mu_;
  std::condition_variable cv_;
  std::deque<request> queue_;
  bool stopping_ = false;
  bool writing_ = false;  // a batch or a write_now holds the store
  commit_stats stats_;
  append_fence fence_;  // whoever holds the store (writing_)
  std::thread thread_;
};

}  // namespace ferry::storage
