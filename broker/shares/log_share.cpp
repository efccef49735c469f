#include "broker/shares/log_share.h"

#include <algorithm>

#include "broker/core/clock.h"
#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/logs/log_topic.h"
#include "broker/queues/dead_letter.h"
#include "broker/topics/topic_directory.h"
#include "storage/meta_keys.h"
#include "storage/meta_store.h"

namespace ferry::broker {

log_share::log_share(std::string name, log_topic& t, std::vector<share_state> states,
                     const share_context& ctx, bool fresh)
    : name_(std::move(name)),
      topic_(t),
      states_(std::move(states)),
      ctx_(ctx),
      feeder_(0, *this, ctx.read_ahead, /*auto_ack=*/true),
      fresh_(fresh),
      dirty_(states_.size(), false) {}

log_share::~log_share() {
  if (attached_) topic_.detach(feeder_);
  // Settles still waiting for a write learn that the subscription went first.
  auto waiting = std::move(waiting_write_);
  for (auto& fn : waiting_next_)
    waiting.push_back(std::move(fn));
  for (auto& fn : waiting)
    fn(fail(errc::subscription_not_found, "subscription " + quoted(name_) + " was deleted"));
}

int64_t log_share::now() const {
  return ctx_.clock.now();
}

// ---- reading the log ----

void log_share::start(subscription& s) {
  sub_ = &s;
  std::vector<v1::PartitionStart> starts;
  for (uint32_t p = 0; p < states_.size(); ++p) {
    const auto b = topic_.bounds(p);
    if (fresh_) changed(p);            // where it starts is stored at once
    if (states_[p].low() < b.start) {  // retention took records it had not finished
      log::queues().warn("subscription {}: {}[{}] records {}..{} were removed by retention first",
                         name_, topic_.name(), p, states_[p].low(), b.start - 1);
      states_[p].skip_to(b.start);
      changed(p);
    }
    auto& start = starts.emplace_back();
    start.set_partition(p);
    start.mutable_start()->set_kind(v1::Position::OFFSET);
    start.mutable_start()->set_value(static_cast<int64_t>(std::min(states_[p].low(), b.next)));
  }
  std::vector<v1::PartitionAssignment> assigned;
  if (auto err = topic_.attach(feeder_, starts, assigned)) {
    log::queues().error("subscription {}: cannot read {}: {}", name_, topic_.name(),
                        err.to_string());
    return;
  }
  attached_ = true;
}

void log_share::deliver(consumer&, const message_ref& m, const delivery_meta& meta) {
  ++feeding_;
  auto& st = states_[meta.partition];
  if (st.done(meta.offset)) {
    feeder_.remove_outstanding(1);  // finished before a restart: skipped
  } else {
    positions_.emplace(sub_->next_seq(), position{meta.partition, meta.offset});
    sub_->enqueue(m, st.delivered_count(meta.offset));
  }
  --feeding_;
}

void log_share::consumer_cancelled(consumer&, errc, std::string_view why) {
  attached_ = false;
  log::queues().info("subscription {}: stopped reading {}: {}", name_, topic_.name(), why);
}

void log_share::describe(v1::SubscriptionInfo& out) const {
  if (!attached_ || feeder_.reader() == nullptr) return;
  uint64_t unread = 0;
  for (const auto& [p, cur] : feeder_.reader()->cursors()) {
    const uint64_t end = topic_.bounds(p).next;
    unread += end > cur.next ? end - cur.next : 0;
  }
  out.set_ready(out.ready() + unread);  // records not read yet wait too
}

// ---- the subscription's events ----

void log_share::delivering(subscription&, uint64_t seq, delivery_meta& meta) {
  auto it = positions_.find(seq);
  if (it == positions_.end()) return;
  meta.partition = it->second.partition;
  meta.offset = it->second.offset;
  states_[meta.partition].delivered(meta.offset, meta.delivery_count);
  changed(meta.partition);
}

void log_share::acked(subscription&, uint64_t seq) {
  finish(seq);
}

void log_share::finish(uint64_t seq) {
  auto it = positions_.find(seq);
  if (it == positions_.end()) return;
  const auto [p, offset] = it->second;
  positions_.erase(it);
  states_[p].finish(offset);
  changed(p);
  feeder_.remove_outstanding(1);
  // Inside the feeder's delivery the log is pumping already; else room came back.
  if (feeding_ == 0 && attached_) topic_.credit(feeder_, 0);
}

// At least once: the record is done only once the dead-letter topic took it; a crash in
// between delivers it again (and dead-letters it again).
void log_share::dead_letter(subscription& from, uint64_t seq, const message_ref& m,
                            uint32_t delivery_count, std::string_view reason,
                            std::string_view detail) {
  const auto& dlt = from.options().dead_letter_topic;
  if (dlt.empty() || ctx_.topics.find(dlt) == nullptr) {
    from.count_dead_letter(false, m.size());
    return finish(seq);
  }
  std::vector<uint8_t> body(dlt.begin(), dlt.end());
  body.reserve(dlt.size() + m.bytes.size() + 256);
  append_dead_letter(body, m.bytes,
                     {reason, detail, m.topic, from.name(), delivery_count, ctx_.clock.wall_ms()});
  publish_dead_letter(seq, m, std::move(body));
}

void log_share::publish_dead_letter(uint64_t seq, const message_ref& m, std::vector<uint8_t> body) {
  const std::string& dlt = sub_->options().dead_letter_topic;
  topic* t = ctx_.topics.find(dlt);
  const std::string_view all(reinterpret_cast<const char*>(body.data()), body.size());
  codec::publish_view head;
  head.topic = all.substr(0, dlt.size());
  std::vector<std::string_view> messages{all.substr(dlt.size())};
  publish_request r{all, head, messages};
  t->publish(r, [this, seq, m, w = lifetime_.watch()](const ferry::error& err, v1::PublishOk&& ok) {
    if (w.expired()) return;
    if (!err && ok.errors_size() == 0) {
      sub_->count_dead_letter(true, m.size());
      return finish(seq);
    }
    // Not taken: the record goes back to the queue (its count kept) and comes again.
    log::queues().warn("subscription {}: dead-lettering to {} failed ({}): requeued", name_,
                       sub_->options().dead_letter_topic,
                       err ? err.to_string() : ok.errors(0).message());
    auto it = positions_.find(seq);
    if (it == positions_.end()) return;
    const position pos = it->second;
    positions_.erase(it);
    positions_.emplace(sub_->next_seq(), pos);
    sub_->enqueue(m, states_[pos.partition].delivered_count(pos.offset));
  });
}

// ---- storage ----

void log_share::changed(uint32_t partition) {
  dirty_[partition] = true;
  if (any_dirty_) return;
  any_dirty_ = true;
  // Written after this event (its other changes with it), unless a write is under way:
  // then when it completes.
  if (!writing_)
    ctx_.on_loop([this, w = lifetime_.watch()] {
      if (!w.expired() && !writing_ && any_dirty_) write();
    });
}

void log_share::after_durable(std::function<void(const ferry::error&)> fn) {
  if (any_dirty_) return waiting_next_.push_back(std::move(fn));
  if (writing_) return waiting_write_.push_back(std::move(fn));
  fn({});
}

void log_share::write() {
  writing_ = true;
  any_dirty_ = false;
  std::vector<storage::meta_change> changes;
  for (uint32_t p = 0; p < states_.size(); ++p) {
    if (!dirty_[p]) continue;
    dirty_[p] = false;
    changes.push_back({storage::meta_keys::share(name_, p), states_[p].encode()});
  }
  waiting_write_ = std::move(waiting_next_);
  waiting_next_.clear();
  ctx_.on_storage([this, changes = std::move(changes), &store = ctx_.store, to_loop = ctx_.on_loop,
                   w = lifetime_.watch()] {
    auto err = store.apply(changes);
    to_loop([this, err, w] {
      if (!w.expired()) written(err);
    });
  });
}

void log_share::written(const ferry::error& err) {
  writing_ = false;
  auto answered = std::move(waiting_write_);
  waiting_write_.clear();
  if (err) {
    // Everything is written again with the next change (not at once: a full disk would
    // spin); who waits is told now.
    log::queues().warn("subscription {}: storing its delivery state failed: {}", name_,
                       err.to_string());
    std::fill(dirty_.begin(), dirty_.end(), true);
    any_dirty_ = false;
    for (auto& fn : waiting_next_)
      answered.push_back(std::move(fn));
    waiting_next_.clear();
  }
  for (auto& fn : answered)
    fn(err);
  if (!err && any_dirty_) write();
}

}  // namespace ferry::broker
