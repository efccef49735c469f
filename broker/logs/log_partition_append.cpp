// log_partition: the write path (pending records, one write in flight, producers).
#include <algorithm>
#include <cstring>

#include "broker/core/log.h"
#include "broker/logs/log_partition.h"
#include "broker/topics/publish_checks.h"
#include "storage/record_codec.h"

namespace ferry::broker {

log_partition::log_partition(const partition_context& ctx, uint32_t index)
    : ctx_(ctx), index_(index) {}

void log_partition::recovered(const storage::partition_bounds& b,
                              const std::vector<storage::producer_state>& ps,
                              int64_t last_timestamp_ms) {
  last_timestamp_ = last_timestamp_ms;  // timestamps keep not going backwards after a restart
  start_ = b.start;
  durable_ = next_ = b.next;
  bytes_ = b.bytes;
  for (const auto& s : ps) {
    producer p;
    p.any = true;
    p.last_sequence = s.last_sequence;
    p.last_seen_ms = s.last_seen_ms;
    p.recent = decode_recent(s.recent);
    producers_[s.producer_id] = std::move(p);
  }
}

log_partition::sequence_check log_partition::check_sequence(std::string_view producer_id,
                                                            uint64_t sequence,
                                                            uint64_t& expected) const {
  auto it = producers_.find(producer_id);
  if (it == producers_.end() || !it->second.any) return sequence_check::accept;
  expected = it->second.last_sequence + 1;
  if (sequence <= it->second.last_sequence) return sequence_check::duplicate;
  return sequence == expected ? sequence_check::accept : sequence_check::gap;
}

void log_partition::add(const std::shared_ptr<publish_job>& job, uint32_t index,
                        std::string_view message, const message_ref& ref,
                        std::string_view producer_id, uint64_t sequence) {
  // Timestamps never go backwards within a partition (reads by time rely on it). The
  // batch's receipt time, read once per publish by log_topic::publish.
  int64_t ts = std::max(ref.timestamp_ms, last_timestamp_);
  last_timestamp_ = ts;
  auto& a = pending_.append;
  storage::encode_record(a.data, ts, message);
  a.ends.push_back(static_cast<uint32_t>(a.data.size()));
  pending_.waiters.push_back({job, index});
  message_ref stamped = ref;
  stamped.timestamp_ms = ts;
  pending_.refs.push_back(std::move(stamped));
  ++job->outstanding;
  if (producer_id.empty()) return;
  auto found = producers_.find(producer_id);
  auto& p = found != producers_.end()
                ? found->second
                : producers_.emplace(std::string(producer_id), producer{}).first->second;
  p.last_seen_ms = ts;
  // Consecutive sequences of one producer at consecutive positions of the pending write
  // form one batch (another producer's record in between starts a new one).
  const uint64_t pos = a.ends.size() - 1;
  bool extends = !p.recent.empty() && !p.recent.back().assigned &&
                 p.recent.back().first_sequence + p.recent.back().count == sequence &&
                 p.recent.back().first_offset + p.recent.back().count == pos;
  if (extends) {
    ++p.recent.back().count;
  } else {
    p.recent.push_back({sequence, 1, pos, false, false});
    pending_.batches.emplace_back(std::string(producer_id), sequence);
    // Only durable batches leave: one still being written may yet fail, and then it and
    // the producer's later ones must be found (completed(), fail_pending_of()).
    while (p.recent.size() > ctx_.settings.recent_batches && p.recent.front().durable)
      p.recent.pop_front();
  }
  p.any = true;
  p.last_sequence = sequence;
}

void log_partition::add_duplicate(const std::shared_ptr<publish_job>& job, uint32_t index,
                                  std::string_view producer_id, uint64_t sequence) {
  dup_waiter d{job, index, std::string(producer_id), sequence};
  ++job->outstanding;
  if (!resolve_duplicate(d)) dup_waiters_.push_back(std::move(d));
}

// Fills in a duplicate's original offset when that batch is durable; false if it is still
// being written. A duplicate older than the recent batches kept gets offset 0 (the
// message says so); it is a duplicate all the same.
bool log_partition::resolve_duplicate(const dup_waiter& d) {
  auto& ok = d.job->ok;
  auto it = producers_.find(d.producer_id);
  if (it != producers_.end()) {
    for (const auto& b : it->second.recent) {
      if (d.sequence < b.first_sequence || d.sequence >= b.first_sequence + b.count) continue;
      if (!b.durable) return false;
      ok.set_offsets(static_cast<int>(d.index), b.first_offset + (d.sequence - b.first_sequence));
      ok.set_duplicates(ok.duplicates() + 1);
      d.job->resolve_one();
      return true;
    }
  }
  add_error(ok, d.index, errc::ok,
            "duplicate of a batch older than the recent batches kept: offset unknown");
  ok.set_duplicates(ok.duplicates() + 1);
  d.job->resolve_one();
  return true;
}

// Writes of a partition are pipelined, up to this many: the committer takes the next one
// as soon as the previous is synced, without waiting for its completion to travel back
// through the broker loop (that round trip was half of a synced publish's latency).
constexpr size_t max_writes_in_flight = 8;

void log_partition::kick() {
  // After a failure, nothing new goes out until the writes doomed with it have come back
  // and rolled their producers back: a new write must not carry a producer's later
  // sequences past earlier ones that failed.
  if (recovering_) {
    if (!in_flight_.empty()) return;
    recovering_ = false;
  }
  if (in_flight_.size() >= max_writes_in_flight || pending_.waiters.empty()) return;
  submit();
}

void log_partition::submit() {
  in_flight_.push_back(std::make_unique<write>(std::move(pending_)));
  pending_ = write{};
  write& w = *in_flight_.back();
  w.append.pid = pid();
  w.append.first_offset = next_;
  next_ += w.append.count();
  // Producers' batches get their offsets now; their state travels with the records.
  for (const auto& [id, first_seq] : w.batches) {
    auto& p = producers_[id];
    for (auto& b : p.recent) {
      if (b.first_sequence != first_seq || b.assigned) continue;
      b.first_offset += w.append.first_offset;
      b.assigned = true;
    }
  }
  // Stored with the records, so records and dedup state become durable together.
  for (const auto& [id, first_seq] : w.batches) {
    auto& p = producers_[id];
    bool stored =
        std::any_of(w.append.producers.begin(), w.append.producers.end(),
                    [&](const storage::producer_state& s) { return s.producer_id == id; });
    if (!stored) w.append.producers.push_back(persisted(id, p));
  }
  const bool sync = ctx_.sync;
  ++ctx_.probe.writes;
  ctx_.port.append(w.append, sync, lifetime_.guard([this, wp = &w](const ferry::error& err) {
    FERRY_ASSERT(!in_flight_.empty() && in_flight_.front().get() == wp,
                 "log writes must complete in the order they were submitted");
    auto done = std::move(in_flight_.front());
    in_flight_.pop_front();
    completed(*done, err);
    kick();
  }));
}

storage::producer_state log_partition::persisted(const std::string& id, const producer& p) const {
  storage::producer_state s;
  s.producer_id = id;
  s.last_sequence = p.last_sequence;
  s.last_seen_ms = p.last_seen_ms;
  s.recent = encode_recent(p.recent);
  return s;
}

void log_partition::completed(write& w, const ferry::error& err) {
  const uint64_t first = w.append.first_offset;
  if (err) {
    // Nothing of this write is on disk: give its offsets back and forget its batches, so
    // the log stays dense and a retry of those sequences is accepted, not a duplicate.
    // The writes queued behind it are refused by storage (storage::append_fence) and give
    // theirs back with it: the next write starts where this one did.
    if (!w.doomed) {
      next_ = first;
      recovering_ = true;
      for (auto& later : in_flight_)
        later->doomed = true;
    }
    std::vector<std::string> failed;  // producers with records in this write
    for (const auto& [id, first_seq] : w.batches)
      if (std::find(failed.begin(), failed.end(), id) == failed.end()) failed.push_back(id);
    fail_pending_of(failed, err);
    for (const auto& id : failed) {
      auto& p = producers_[id];
      std::erase_if(p.recent, [](const recent_batch& b) { return !b.durable; });
      p.last_sequence =
          p.recent.empty() ? 0 : p.recent.back().first_sequence + p.recent.back().count - 1;
      p.any = !p.recent.empty();
    }
    ++ctx_.probe.write_failures;
    log::logs().error("{}[{}]: write of {} records failed: {}", ctx_.topic_name, index_,
                      w.append.count(), err.to_string());
    for (auto& wt : w.waiters) {
      add_error(wt.job->ok, wt.index, err, err.message);
      wt.job->resolve_one();
    }
    resolve_duplicates(err, failed);
    return;
  }
  durable_ = first + w.append.count();
  ctx_.probe.records_appended += w.append.count();
  ctx_.probe.bytes_appended += w.append.data.size();
  for (const auto& [id, first_seq] : w.batches)
    for (auto& b : producers_[id].recent)
      if (b.first_sequence == first_seq) b.durable = true;
  for (size_t i = 0; i < w.waiters.size(); ++i) {
    auto& ok = w.waiters[i].job->ok;
    ok.set_offsets(static_cast<int>(w.waiters[i].index), first + i);
    ok.set_accepted(ok.accepted() + 1);
    w.waiters[i].job->resolve_one();
  }
  bytes_ += w.append.data.size();
  for (size_t i = 0; i < w.refs.size(); ++i) {
    tail_bytes_ += w.refs[i].size();
    tail_.push_back({first + i, std::move(w.refs[i])});
  }
  while (tail_bytes_ > ctx_.settings.tail_cache_bytes && tail_.size() > 1) {
    tail_bytes_ -= tail_.front().ref.size();
    tail_.pop_front();
  }
  resolve_duplicates({}, {});
  wake_readers();
}

// Later records of producers whose write failed must not be written: their sequences
// would follow ones that are not in the log (a gap that a retry then fills twice). Takes
// them out of the pending write and fails them with the write's error; the producer
// retries from its first failed sequence. Other records keep their order.
void log_partition::fail_pending_of(const std::vector<std::string>& failed,
                                    const ferry::error& err) {
  std::vector<bool> drop(pending_.waiters.size(), false);
  bool any = false;
  for (const auto& id : failed) {
    auto it = producers_.find(id);
    if (it == producers_.end()) continue;
    for (const auto& b : it->second.recent) {
      if (b.assigned) continue;  // unassigned: first_offset is a position in pending_
      for (uint64_t i = b.first_offset; i < b.first_offset + b.count; ++i) {
        drop[i] = true;
        any = true;
      }
    }
  }
  if (!any) return;
  write kept;
  std::vector<uint64_t> position(drop.size(), 0);  // of each kept record in `kept`
  for (size_t i = 0; i < drop.size(); ++i) {
    auto& wt = pending_.waiters[i];
    if (drop[i]) {
      add_error(wt.job->ok, wt.index, err,
                "an earlier message of this producer failed: " + err.message);
      wt.job->resolve_one();
      continue;
    }
    position[i] = kept.append.ends.size();
    std::string_view v = pending_.append.value(i);
    kept.append.data.insert(kept.append.data.end(), v.begin(), v.end());
    kept.append.ends.push_back(static_cast<uint32_t>(kept.append.data.size()));
    kept.waiters.push_back(std::move(wt));
    kept.refs.push_back(std::move(pending_.refs[i]));
  }
  auto is_failed = [&](const std::string& id) {
    return std::find(failed.begin(), failed.end(), id) != failed.end();
  };
  for (auto& batch : pending_.batches)
    if (!is_failed(batch.first)) kept.batches.push_back(std::move(batch));
  for (auto& [id, p] : producers_)
    if (!is_failed(id))
      for (auto& b : p.recent)
        if (!b.assigned) b.first_offset = position[b.first_offset];
  pending_ = std::move(kept);
}

// Resolves the duplicates waiting for their originals. After a failed write (`err`), those
// of the `failed` producers fail: their originals are not in the log.
void log_partition::resolve_duplicates(const ferry::error& err,
                                       const std::vector<std::string>& failed) {
  auto waiting = std::move(dup_waiters_);
  dup_waiters_.clear();
  for (auto& d : waiting) {
    if (err && std::find(failed.begin(), failed.end(), d.producer_id) != failed.end()) {
      // The original failed with this write: the retry did not happen either.
      add_error(d.job->ok, d.index, err,
                "the original of this retried message failed: " + err.message);
      d.job->resolve_one();
    } else if (!resolve_duplicate(d)) {
      dup_waiters_.push_back(std::move(d));
    }
  }
}

// recent batches with offsets: per batch first_sequence, count, first_offset (u64 LE).
std::string encode_recent(const std::deque<log_partition::recent_batch>& recent) {
  std::string s;
  auto put = [&](uint64_t v) { s.append(reinterpret_cast<const char*>(&v), 8); };
  for (const auto& b : recent) {
    if (!b.assigned) continue;  // still pending: it goes with a later write
    put(b.first_sequence);
    put(b.count);
    put(b.first_offset);
  }
  return s;
}

std::deque<log_partition::recent_batch> decode_recent(std::string_view s) {
  std::deque<log_partition::recent_batch> out;
  auto get = [&](size_t at) {
    uint64_t v = 0;
    std::memcpy(&v, s.data() + at, 8);
    return v;
  };
  for (size_t at = 0; at + 24 <= s.size(); at += 24)
    out.push_back({get(at), static_cast<uint32_t>(get(at + 8)), get(at + 16), true, true});
  return out;
}

}  // namespace ferry::broker
