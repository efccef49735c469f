// storage_port: log_port over real threads. Appends go to the group committer (one writer
// thread: group commit; an unsynced append while it is idle is written on the loop, see
// group_committer::write_now); reads, time lookups and retention deletes run on one reader
// thread. Every completion is handed back to the broker loop through `on_loop`, which
// runs it as a loop event (fresh clock, flush after).
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>

#include "broker/logs/log_port.h"
#include "storage/group_committer.h"

namespace ferry::broker {

class storage_port final : public log_port {
 public:
  using task = std::function<void()>;
  storage_port(storage::log_store& store, std::function<void(task)> on_loop);
  ~storage_port();

  // Finishes every queued write and read, then stops the threads.
  void stop();
  storage::commit_stats commit_stats() const { return committer_.stats(); }
  // Requests whose completion has not run on the loop yet (a drain waits for 0). Loop only.
  size_t in_flight() const { return in_flight_; }

  // log_port
  void append(storage::partition_append a, bool sync, done_fn done) override;
  void sync_wal(done_fn done) override;
  void read(storage::partition_id pid, uint64_t from, size_t max_records, size_t max_bytes,
            read_fn done) override;
  void offset_for_time(storage::partition_id pid, int64_t ts_ms, offset_fn done) override;
  void truncate_prefix(storage::partition_id pid, uint64_t new_start, done_fn done) override;
  void drop_partition(storage::partition_id pid, done_fn done) override;

 private:
  struct reader_thread;
  void on_reader(task t);
  // On the loop, first thing in each completion.
  void finished() { --in_flight_; }
  void complete(uint64_t ticket, const ferry::error& err);

  storage::log_store& store_;
  std::function<void(task)> on_loop_;
  storage::group_committer committer_;
  std::unique_ptr<reader_thread> reader_;
  size_t in_flight_ = 0;
  // Appends not answered yet, in submission order; ticket t is appends_[t - first_ticket_].
  struct pending_append {
    done_fn done;
    std::optional<ferry::error> result;  // set once written (or refused)
  };
  std::deque<pending_append> appends_;
  uint64_t first_ticket_ = 0;
};

}  // namespace ferry::broker
