#include "storage/group_committer.h"

#include <chrono>
#include <vector>

#include "storage/log/append_check.h"

namespace ferry::storage {

group_committer::group_committer(log_store& store, size_t max_batch_bytes)
    : store_(store), max_batch_bytes_(max_batch_bytes), thread_([this] { run(); }) {}

group_committer::~group_committer() {
  stop();
}

void group_committer::submit(partition_append append, bool sync, callback done) {
  // A malformed append fails alone here rather than failing the whole batch later.
  if (auto err = check_append(append)) return done(err);
  enqueue({std::move(append), sync, false, std::move(done)});
}

std::optional<ferry::error> group_committer::write_now(const partition_append& append) {
  if (append.data.size() > kWriteNowBytes) return std::nullopt;
  if (auto err = check_append(append)) return err;  // refused alone, as submit() does
  {
    std::lock_guard lock(mu_);
    if (stopping_ || writing_ || !queue_.empty()) return std::nullopt;
    writing_ = true;
  }
  ferry::error refused;
  if (!fence_.admit(append, refused)) {  // behind a failed write: not written
    std::lock_guard lock(mu_);
    release_store();
    return refused;
  }
  const partition_append* one = &append;
  return write({&one, 1}, false, 1);
}

// Lock held. Whoever waits for the store (the committer, or stop() through it) goes on.
void group_committer::release_store() {
  writing_ = false;
  if (stopping_ || !queue_.empty()) cv_.notify_one();
}

void group_committer::sync(callback done) {
  enqueue({partition_append{}, true, true, std::move(done)});
}

void group_committer::enqueue(request r) {
  {
    std::lock_guard lock(mu_);
    if (!stopping_) {
      queue_.push_back(std::move(r));
      cv_.notify_one();
      return;
    }
  }
  r.done({make_error_code(errc::shutting_down), "the log writer has stopped"});
}

// Only the first caller joins (and so returns after the drain); a call from a `done`
// callback only asks the thread to finish, since it cannot join itself.
void group_committer::stop() {
  std::thread t;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
    if (thread_.get_id() != std::this_thread::get_id()) t = std::move(thread_);
  }
  cv_.notify_all();
  if (t.joinable()) t.join();
}

commit_stats group_committer::stats() const {
  std::lock_guard lock(mu_);
  return stats_;
}

void group_committer::run() {
  std::vector<request> batch;
  for (;;) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return !writing_ && (stopping_ || !queue_.empty()); });
      if (queue_.empty()) return;  // stopping, and everything submitted is answered
      take_batch(batch);
      writing_ = true;
    }
    commit(batch);  // lets go of the store once written
    batch.clear();
  }
}

// Everything queued, up to max_batch_bytes_ of record data, and at least one request so
// that a request larger than the limit still goes. Lock must be held.
void group_committer::take_batch(std::vector<request>& batch) {
  size_t bytes = 0;
  do {
    bytes += queue_.front().append.data.size();
    batch.push_back(std::move(queue_.front()));
    queue_.pop_front();
  } while (!queue_.empty() && bytes + queue_.front().append.data.size() <= max_batch_bytes_);
}

// One store write for the whole batch. A sync request rides on the batch's write (which
// then syncs) and costs a sync_wal() only when the batch holds nothing else.
void group_committer::commit(std::vector<request>& batch) {
  std::vector<const partition_append*> appends;
  appends.reserve(batch.size());
  std::vector<ferry::error> refused(batch.size());
  bool want_sync = false;
  for (size_t i = 0; i < batch.size(); ++i) {
    const auto& r = batch[i];
    want_sync = want_sync || r.sync;
    if (r.sync_only) continue;
    if (!fence_.admit(r.append, refused[i])) continue;  // behind a failed write: not written
    appends.push_back(&r.append);
  }
  ferry::error err = write(appends, want_sync, batch.size());
  for (size_t i = 0; i < batch.size(); ++i)
    batch[i].done(refused[i] ? refused[i] : err);
}

ferry::error group_committer::write(std::span<const partition_append* const> appends, bool sync,
                                    size_t requests) {
  using clock = std::chrono::steady_clock;
  uint64_t records = 0;
  for (const auto* a : appends)
    records += a->count();
  const auto started = sync ? clock::now() : clock::time_point{};  // only syncs are timed
  ferry::error err = appends.empty() ? store_.sync_wal() : store_.append(appends, sync);
  const std::chrono::duration<double> took = sync ? clock::now() - started : clock::duration{};
  if (err)
    for (const auto* a : appends)
      fence_.failed(*a, err);
  std::lock_guard lock(mu_);
  release_store();
  stats_.batches += appends.empty() ? 0 : 1;
  stats_.requests += requests;
  stats_.records += records;
  stats_.syncs += sync ? 1 : 0;
  if (sync) stats_.sync_seconds.observe(took.count());
  if (!appends.empty()) stats_.batch_records.observe(static_cast<double>(records));
  return err;
}

}  // namespace ferry::storage
