#include "broker/schedule/scheduler.h"

#include <algorithm>
#include <cstring>
#include <optional>

#include "broker/core/clock.h"
#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/schedule/schedule_value.h"
#include "broker/services/publish_service.h"
#include "broker/topics/publish_checks.h"
#include "broker/topics/topic_directory.h"

namespace ferry::broker {

namespace {

using storage::schedule_entry;
using storage::schedule_key;
using storage::schedule_ref;
namespace value = schedule_value;

// Entries released per round: a backlog that came due at once goes in several rounds.
constexpr size_t max_round = 512;
// The timer never sleeps longer than this (a wall clock that jumps is noticed).
constexpr int64_t max_sleep_ms = 1000;
// A round whose publish failed for a reason that may pass is tried again after this.
constexpr int64_t retry_ms = 1000;
}  // namespace

// One release: what is due, read from storage in key order, and how its publishes went.
struct scheduler::due_round {
  std::vector<schedule_entry> entries;
  bool more = false;             // a full round: read again at once
  int64_t next_due = INT64_MAX;  // the first entry not due yet
  ferry::error err;              // reading failed
  size_t outstanding = 0;        // publishes not answered yet
  bool retry = false;            // a publish failed in a way that may pass: keep them all
  std::vector<schedule_ref> done;
};

scheduler::scheduler(environment env) : env_(std::move(env)) {}

ferry::error scheduler::recover() {
  int64_t first = INT64_MAX;
  auto err = env_.store.scan({}, INT64_MAX, [&](const schedule_key& k, std::string_view v) {
    value::decoded d;
    if (value::decode(v, d)) ++per_topic_[std::string(d.topic)];
    ++waiting_;
    next_seq_ = std::max(next_seq_, k.seq + 1);
    first = std::min(first, k.due_ms);
    return true;
  });
  if (err) return err;
  if (waiting_ != 0)
    log::server().info("schedule: {} messages waiting, the first due at {} (Unix ms)", waiting_,
                       first);
  arm(first);
  return {};
}

uint64_t scheduler::waiting(const std::string& topic) const {
  auto it = per_topic_.find(topic);
  return it == per_topic_.end() ? 0 : it->second;
}

void scheduler::forget(const std::string& topic) {
  if (auto it = per_topic_.find(topic); it != per_topic_.end() && --it->second == 0)
    per_topic_.erase(it);
  if (waiting_ != 0) --waiting_;
}

// ---- scheduling ----

bool scheduler::take(publish_request& r, publish_done& done) {
  // Also while the broker drains (stopped_): a delayed message is stored, never published early.
  if (r.messages.empty()) return false;
  // Every Publish passes here: the clock is read only for one whose first message asks.
  codec::message_meta first;
  if (codec::scan_message(r.messages[0], first) != errc::ok ||
      (first.not_before_ms == 0 && first.delay_ms == 0))
    return false;
  const int64_t now = env_.clock.wall_ms();
  if (due_ms(first, now) <= now) return false;
  // Whatever the topic would refuse for the whole frame, it refuses now.
  topic* t = env_.topics.find(r.head.topic);
  if (t == nullptr || (r.head.partition && t->kind() != v1::LOG)) return false;
  v1::PublishOk ok;
  std::vector<schedule_entry> entries;
  for (uint32_t i = 0; i < r.messages.size(); ++i) {
    codec::message_meta meta;
    // Room for the due time appended to it (at most 11 bytes): released, it must still fit.
    if (!check_encoding(i, r.messages[i], env_.max_message_bytes - value::due_field_bytes, meta,
                        ok))
      continue;
    // An undelayed message after a delayed one is due now: released with the next round.
    const int64_t due = std::max(due_ms(meta, now), now);
    const schedule_key key{due, next_seq_++};
    entries.push_back({key, value::encode(r.head.topic, r.head.partition, r.messages[i], due),
                       std::string(r.head.topic)});
    ok.add_scheduled_ids(value::id_of(key));
  }
  ok.set_accepted(static_cast<uint32_t>(entries.size()));
  write(std::move(entries),
        [ok = std::move(ok), done = std::move(done)](const ferry::error& err) mutable {
          if (err) return done(err, {});
          done({}, std::move(ok));
        });
  return true;
}

// Writes queue while one is under way and go together next: one synced RocksDB write for
// all of them (group commit).
void scheduler::write(std::vector<schedule_entry> entries,
                      std::function<void(const ferry::error&)> done) {
  for (auto& e : entries)
    pending_.entries.push_back(std::move(e));
  pending_.done.push_back(std::move(done));
  if (!writing_) start_write();
}

void scheduler::start_write() {
  writing_ = true;
  auto batch = std::make_shared<write_batch>(std::move(pending_));
  pending_ = {};
  env_.on_storage(
      [this, batch, &store = env_.store, to_loop = env_.on_loop, w = lifetime_.watch()] {
        auto err = store.apply(batch->entries, {});
        to_loop([this, batch, err, w] {
          if (!w.expired()) written(*batch, err);
        });
      });
}

void scheduler::written(write_batch& b, const ferry::error& err) {
  writing_ = false;
  if (!err) {
    int64_t first = INT64_MAX;
    for (const auto& e : b.entries) {
      ++per_topic_[e.group];
      first = std::min(first, e.key.due_ms);
    }
    waiting_ += b.entries.size();
    // Due before what was released (a wall clock that went back): scans start there.
    const schedule_key below{first, 0};
    if (releasing_) {
      lowered_ = std::min(lowered_, below);
    } else {
      low_ = std::min(low_, below);
    }
    arm(first);
  } else {
    log::server().warn("schedule: storing {} messages failed: {}", b.entries.size(),
                       err.to_string());
  }
  for (auto& done : b.done)
    done(err);
  if (!pending_.done.empty()) start_write();
}

// ---- releasing ----

// The timer waits for the earliest due time known (never longer than max_sleep_ms: a wall
// clock that jumps is noticed); an earlier one re-arms it.
void scheduler::arm(int64_t due_ms) {
  if (stopped_ || due_ms == INT64_MAX || due_ms >= armed_for_) return;
  armed_for_ = due_ms;
  const int64_t wait = std::clamp<int64_t>(due_ms - env_.clock.wall_ms(), 0, max_sleep_ms);
  env_.after(wait, [this, due_ms, gen = ++timer_generation_, w = lifetime_.watch()] {
    if (w.expired() || gen != timer_generation_) return;
    armed_for_ = INT64_MAX;
    if (due_ms > env_.clock.wall_ms()) return arm(due_ms);  // slept max_sleep_ms only
    release();
  });
}

// Reads what is due (at most max_round entries, from the first not released), and the due
// time of the first entry after them, on the storage thread.
void scheduler::release() {
  if (stopped_) return;
  if (releasing_) {
    again_ = true;  // written meanwhile: look again when this round ends
    return;
  }
  releasing_ = true;
  again_ = false;
  auto round = std::make_shared<due_round>();
  const int64_t now = env_.clock.wall_ms();
  round_now_ = now;
  env_.on_storage([round, now, from = low_, &store = env_.store, to_loop = env_.on_loop, this,
                   w = lifetime_.watch()] {
    round->err = store.scan(from, INT64_MAX, [&](const schedule_key& k, std::string_view v) {
      if (k.due_ms > now) {
        round->next_due = k.due_ms;
        return false;
      }
      if (round->entries.size() == max_round) {
        round->more = true;
        return false;
      }
      round->entries.push_back({k, std::string(v), {}});
      return true;
    });
    to_loop([this, round, w] {
      if (!w.expired()) publish_round(round);
    });
  });
}

// Publishes the round's entries in key order, consecutive ones of one topic (and
// partition) as one Publish.
void scheduler::publish_round(const std::shared_ptr<due_round>& round) {
  if (round->err) {
    log::server().warn("schedule: reading what is due failed: {}", round->err.to_string());
    round->retry = true;
    return finish_round(round);
  }
  const int64_t now = env_.clock.wall_ms();
  round->outstanding = 1;  // until every group is handed over
  for (size_t i = 0; i < round->entries.size();) {
    value::decoded first;
    if (!value::decode(round->entries[i].value, first)) {  // not ours: dropped
      log::server().warn("schedule: entry {} is unreadable: dropped",
                         value::id_of(round->entries[i].key));
      round->done.push_back({round->entries[i++].key, {}});
      continue;
    }
    std::string body(first.topic);
    std::vector<std::pair<size_t, size_t>> spans;  // each message's place in body
    size_t j = i;
    for (value::decoded d; j < round->entries.size() && value::decode(round->entries[j].value, d) &&
                           d.topic == first.topic && d.partition == first.partition;
         ++j) {
      spans.emplace_back(body.size(), d.message.size());
      body += d.message;
      const int64_t late = std::max<int64_t>(now - round->entries[j].key.due_ms, 0);
      worst_lateness_ms_ = std::max(worst_lateness_ms_, late);
      lateness_.observe(static_cast<double>(late) / 1000.0);
    }
    codec::publish_view head;
    head.topic = std::string_view(body).substr(0, first.topic.size());
    head.partition = first.partition;
    std::vector<std::string_view> messages;
    for (auto [at, n] : spans)
      messages.push_back(std::string_view(body).substr(at, n));
    publish_request req{body, head, messages};
    ++round->outstanding;
    env_.publishing.publish_due(req, [this, round, i, j, w = lifetime_.watch()](
                                         const ferry::error& err, v1::PublishOk&& ok) {
      if (w.expired()) return;
      settle_group(*round, i, j, err, ok);
      if (--round->outstanding == 0) finish_round(round);
    });
    i = j;
  }
  if (--round->outstanding == 0) finish_round(round);
}

// What the topic answered for entries [first, end): published or refused for good
// (erased), or refused for now (kept, and tried again).
void scheduler::settle_group(due_round& round, size_t first, size_t end, const ferry::error& err,
                             const v1::PublishOk& ok) {
  std::vector<bool> keep(end - first, false);
  if (err && !lasting_refusal(errc_of(err.code))) keep.assign(end - first, true);
  for (const auto& e : ok.errors())
    if (e.index() < keep.size() && !lasting_refusal(static_cast<errc>(e.code())))
      keep[e.index()] = true;
  if (value::decoded d;
      err && lasting_refusal(errc_of(err.code)) && value::decode(round.entries[first].value, d))
    log::server().warn("schedule: {} messages for topic '{}' dropped: {}", end - first, d.topic,
                       err.to_string());
  for (size_t k = first; k < end; ++k) {
    if (keep[k - first]) {
      round.retry = true;
      continue;
    }
    value::decoded d;
    round.done.push_back({round.entries[k].key,
                          value::decode(round.entries[k].value, d) ? std::string(d.topic) : ""});
  }
}

// Erases what was released (one synced write), then goes on: at once after a full round,
// else at the next due time; a round that must be tried again restarts where its first
// kept entry is.
void scheduler::finish_round(const std::shared_ptr<due_round>& round) {
  env_.on_storage(
      [this, round, &store = env_.store, to_loop = env_.on_loop, w = lifetime_.watch()] {
        auto err = store.apply({}, round->done);
        to_loop([this, round, err, w] {
          if (w.expired()) return;
          releasing_ = false;
          if (err)
            log::server().warn("schedule: erasing released entries failed: {}", err.to_string());
          for (const auto& r : round->done)
            forget(r.group);
          advance_low(*round);
          if (round->retry) return arm(env_.clock.wall_ms() + retry_ms);
          if (round->more || again_) return release();
          arm(round->next_due);
        });
      });
}

// Scans start at the first entry not released: past this round's last entry, or at the
// first one it kept, or lower when something due earlier was written meanwhile.
void scheduler::advance_low(const due_round& round) {
  schedule_key next = low_;
  if (!round.entries.empty()) {
    const auto& last = round.entries.back().key;
    next = {last.due_ms, last.seq + 1};
  }
  if (round.retry) {
    for (const auto& e : round.entries)
      if (std::none_of(round.done.begin(), round.done.end(),
                       [&](const schedule_ref& r) { return r.key == e.key; })) {
        next = std::min(next, e.key);
        break;
      }
  }
  low_ = std::min(next, lowered_);
  lowered_ = {INT64_MAX, 0};
}

}  // namespace ferry::broker
