// scheduler: delayed delivery (PROTOCOL.md 5.7). A Publish whose first message is delayed
// comes here instead of to its topic (publish_service asks take()): each message is
// stored in the schedule (storage/schedule_store.h: RocksDB, time-ordered keys, synced)
// and confirmed once durable; nothing of it stays in memory. A timer wakes at the earliest
// due time, reads what is due from storage in key order (due time, then arrival), publishes
// it to its topic as an ordinary publish (publish_service::publish_due, with not_before_ms
// set to the due time), and erases it once the topics accepted it: a crash in between
// publishes it again at the next start (at-least-once). Messages that came due while
// ferryd was down are released at start. A topic's waiting messages are listed from
// storage in due-time order, and one that is not due yet can be cancelled by its id.
// Storage calls run on the storage thread; all else on the loop. Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <unordered_map>
#include <vector>

#include "ferry/v1/publish.pb.h"

#include "broker/services/publish_scheduler.h"
#include "storage/schedule_store.h"
#include "support/histogram.h"
#include "support/lifetime.h"

namespace ferry::broker {

class loop_clock;
class publish_service;
class topic_directory;

class scheduler final : public publish_scheduler {
 public:
  using task = std::function<void()>;
  struct environment {
    storage::schedule_store& store;
    publish_service& publishing;
    topic_directory& topics;
    loop_clock& clock;
    std::function<void(task)> on_storage;         // runs a blocking call on the storage thread
    std::function<void(task)> on_loop;            // back on the loop, as an event
    std::function<void(int64_t ms, task)> after;  // on the loop after `ms`, as an event
    size_t max_message_bytes;
  };

  explicit scheduler(environment env);

  // At start, before serving (blocking): counts what waits, and releases what is due.
  ferry::error recover();
  // No more releases (at shutdown); what is scheduled stays stored, and what arrives
  // during the drain is still stored.
  void stop() { stopped_ = true; }

  // publish_scheduler
  bool take(publish_request& r, publish_done& done) override;

  // Messages waiting, per topic and in all.
  uint64_t waiting(const std::string& topic) const override;
  // Listing and cancelling (schedule_admin.cpp).
  void list(const v1::ListScheduled& req, reply<v1::ScheduledList> done) override;
  void cancel(const v1::CancelScheduled& req, reply<v1::CancelScheduledOk> done) override;
  uint64_t waiting() const { return waiting_; }
  // The earliest due time the release timer waits for (Unix ms); 0 when nothing waits or a
  // release is under way.
  int64_t next_due_ms() const { return armed_for_ == INT64_MAX ? 0 : armed_for_; }
  // Released late by more than this many ms (the worst since start): a measure of the
  // timer and of storage.
  int64_t worst_lateness_ms() const { return worst_lateness_ms_; }
  // How late each release was, in seconds (for /metrics).
  const histogram& lateness() const { return lateness_; }

 private:
  struct write_batch {
    std::vector<storage::schedule_entry> entries;
    std::vector<std::function<void(const ferry::error&)>> done;
  };
  struct due_round;

  void write(std::vector<storage::schedule_entry> entries,
             std::function<void(const ferry::error&)> done);
  // One entry of `topic` left the schedule (released, dropped or cancelled).
  void forget(const std::string& topic);
  void start_write();
  void written(write_batch& b, const ferry::error& err);
  void arm(int64_t due_ms);
  void release();
  void publish_round(const std::shared_ptr<due_round>& round);
  void settle_group(due_round& round, size_t first, size_t end, const ferry::error& err,
                    const v1::PublishOk& ok);
  void finish_round(const std::shared_ptr<due_round>& round);
  void advance_low(const due_round& round);

  environment env_;
  uint64_t next_seq_ = 1;
  std::unordered_map<std::string, uint64_t> per_topic_;
  uint64_t waiting_ = 0;
  write_batch pending_;
  bool writing_ = false;
  // The first key not yet released: scans start here, past released entries' tombstones.
  storage::schedule_key low_;
  storage::schedule_key lowered_{INT64_MAX, 0};  // written during a round, due before low_
  int64_t armed_for_ = INT64_MAX;                // the due time the timer waits for
  uint64_t timer_generation_ = 0;
  bool releasing_ = false;
  int64_t round_now_ = 0;  // the round under way reads what is due by this (wall ms)
  bool again_ = false;     // due entries were written during the round
  bool stopped_ = false;
  int64_t worst_lateness_ms_ = 0;
  histogram lateness_{0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 5, 30};
  lifetime_token lifetime_;
};

}  // namespace ferry::broker
