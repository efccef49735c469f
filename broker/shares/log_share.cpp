#include "broker/shares/log_share.h"

#include <algorithm>

#include "broker/core/clock.h"
#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/logs/log_topic.h"
#include "broker/queues/dead_letter.h"
#include "broker/topics/publish_checks.h"
#include "broker/topics/topic_directory.h"
#include "storage/meta_keys.h"
#include "storage/meta_store.h"

namespace ferry::broker {

log_share::log_share(std::string name, log_topic& t, std::vector<share_state> states,
                     const share_context& ctx)
    : name_(std::move(name)),
      topic_(t),
      states_(std::move(states)),
      ctx_(ctx),
      feeder_(0, *this, ctx.read_ahead, /*auto_ack=*/true),
      dirty_(states_.size(), false) {
  feeder_.set_output_gate(&full_);
}

log_share::~log_share() {
  if (attached_) topic_.detach(feeder_);
  // Settles still waiting for a write learn that the subscription went first.
  auto waiting = std::move(waiting_write_);
  for (auto* more : {&waiting_next_, &waiting_dead_letters_})
    for (auto& fn : *more)
      waiting.push_back(std::move(fn));
  answer(std::move(waiting),
         fail(errc::subscription_not_found, "subscription " + quoted(name_) + " was deleted"));
}

int64_t log_share::now() const {
  return ctx_.clock.now();
}

// ---- reading the log ----

// Records of partition `p` below `start` were removed by retention before they were
// done: the state moves past them (said in the log).
void log_share::skip_retained(uint32_t p, uint64_t start) {
  auto& st = states_[p];
  if (st.low() >= start) return;
  log::queues().warn("subscription {}: {}[{}] records {}..{} were removed by retention first",
                     name_, topic_.name(), p, st.low(), start - 1);
  st.skip_to(start);
  changed(p);
}

void log_share::start(subscription& s) {
  sub_ = &s;
  std::vector<v1::PartitionStart> starts;
  for (uint32_t p = 0; p < states_.size(); ++p) {
    const auto b = topic_.bounds(p);
    skip_retained(p, b.start);
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
  skip_retained(meta.partition, topic_.bounds(meta.partition).start);
  auto& st = states_[meta.partition];
  if (st.done(meta.offset)) {
    feeder_.remove_outstanding(1);  // finished before a restart: skipped
  } else {
    const auto bytes = static_cast<uint32_t>(m.size());
    positions_.emplace(sub_->next_seq(), position{meta.partition, bytes, meta.offset});
    held_bytes_ += bytes;
    sub_->enqueue(m, st.delivered_count(meta.offset));
  }
  update_gate();
  --feeding_;
}

// The read-ahead is full at read_ahead records or read_ahead_bytes, and opens again only
// once a quarter of it is free: storage reads then fetch a quarter at a time, not the one
// record each ack makes room for.
void log_share::update_gate() {
  const uint64_t held = feeder_.outstanding();
  if (held >= ctx_.read_ahead || held_bytes_ >= ctx_.read_ahead_bytes) {
    full_ = true;
  } else if (held + ctx_.read_ahead / 4 <= ctx_.read_ahead &&
             held_bytes_ + ctx_.read_ahead_bytes / 4 <= ctx_.read_ahead_bytes) {
    full_ = false;
  }
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

void log_share::record_state(catalog_batch& b) const {
  for (uint32_t p = 0; p < states_.size(); ++p)
    b.put_share_state(name_, p, states_[p].encode());
}

void log_share::erase_state(catalog_batch& b) const {
  b.erase_share_state(name_, static_cast<uint32_t>(states_.size()));
}

// ---- the subscription's events ----

void log_share::delivering(subscription&, uint64_t seq, delivery_meta& meta) {
  auto it = positions_.find(seq);
  if (it == positions_.end()) return;
  meta.partition = it->second.partition;
  meta.offset = it->second.offset;
  meta.record = true;
  states_[meta.partition].delivered(meta.offset, meta.delivery_count);
  changed(meta.partition);
}

void log_share::acked(subscription&, uint64_t seq) {
  finish(seq);
}

void log_share::finish(uint64_t seq) {
  auto it = positions_.find(seq);
  if (it == positions_.end()) return;
  const auto [p, bytes, offset] = it->second;
  positions_.erase(it);
  states_[p].finish(offset);
  changed(p);
  feeder_.remove_outstanding(1);
  held_bytes_ -= bytes;
  update_gate();
  // Inside the feeder's delivery the log is pumping already; else room came back (none
  // while the read-ahead stays full).
  if (feeding_ == 0 && attached_ && !full_) topic_.credit(feeder_, 0);
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

namespace {

// A dead-letter publish's answer, once: the topic's, or, when the topic dropped it (it was
// deleted while writing), TOPIC_NOT_FOUND as the last copy of the callback goes.
struct dead_letter_answer {
  std::function<void(const ferry::error&, const v1::PublishOk&)> fn;
  bool answered = false;
  void operator()(const ferry::error& err, const v1::PublishOk& ok) {
    if (!std::exchange(answered, true)) fn(err, ok);
  }
  ~dead_letter_answer() {
    if (!answered) fn(fail(errc::topic_not_found, "the dead-letter topic went away"), {});
  }
};

}  // namespace

void log_share::publish_dead_letter(uint64_t seq, const message_ref& m, std::vector<uint8_t> body) {
  const std::string& dlt = sub_->options().dead_letter_topic;
  topic* t = ctx_.topics.find(dlt);
  const std::string_view all(reinterpret_cast<const char*>(body.data()), body.size());
  codec::publish_view head;
  head.topic = all.substr(0, dlt.size());
  std::vector<std::string_view> messages{all.substr(dlt.size())};
  publish_request r{all, head, messages};
  ++dead_lettering_;
  auto answer = std::make_shared<dead_letter_answer>();
  answer->fn = [this, seq, m, w = lifetime_.watch()](const ferry::error& err,
                                                     const v1::PublishOk& ok) {
    if (!w.expired()) dead_lettered(seq, m, err, ok);
  };
  t->publish(r, [answer](const ferry::error& err, v1::PublishOk&& ok) { (*answer)(err, ok); });
}

// Taken: the record is done. Refused for good (the topic is gone, the record does not fit
// it, a reject-publish queue is full): dropped, as a memory subscription drops it. Refused
// for now: back to the queue, its count kept, to come again.
void log_share::dead_lettered(uint64_t seq, const message_ref& m, const ferry::error& err,
                              const v1::PublishOk& ok) {
  --dead_lettering_;
  const errc code = err                    ? errc_of(err.code)
                    : ok.errors_size() > 0 ? static_cast<errc>(ok.errors(0).code())
                                           : errc::ok;
  if (code == errc::ok) {
    sub_->count_dead_letter(true, m.size());
    finish(seq);
  } else if (lasting_refusal(code) || code == errc::queue_full) {
    log::queues().warn("subscription {}: dead-letter topic {} refused a record ({}): dropped",
                       name_, sub_->options().dead_letter_topic, errc_name(code));
    sub_->count_dead_letter(false, m.size());
    finish(seq);
  } else if (auto it = positions_.find(seq); it != positions_.end()) {
    log::queues().warn("subscription {}: dead-lettering to {} failed ({}): requeued", name_,
                       sub_->options().dead_letter_topic, errc_name(code));
    const position pos = it->second;
    positions_.erase(it);
    positions_.emplace(sub_->next_seq(), pos);
    sub_->enqueue(m, states_[pos.partition].delivered_count(pos.offset));
  }
  if (dead_lettering_ != 0) return;
  // Settles that waited for the dead letters now wait for the write of what they changed.
  auto waiting = std::move(waiting_dead_letters_);
  waiting_dead_letters_.clear();
  *ctx_.settles_waiting -= waiting.size();
  for (auto& fn : waiting)
    after_durable(std::move(fn));
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
  // A nack's record is done only once its dead-letter topic took it.
  std::vector<waiter>* list = dead_lettering_ != 0 ? &waiting_dead_letters_
                              : any_dirty_         ? &waiting_next_
                              : writing_           ? &waiting_write_
                                                   : nullptr;
  if (list == nullptr) return fn({});  // nothing to wait for
  list->push_back(std::move(fn));
  ++*ctx_.settles_waiting;
}

void log_share::answer(std::vector<waiter> who, const ferry::error& err) {
  *ctx_.settles_waiting -= who.size();
  for (auto& fn : who)
    fn(err);
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
  answer(std::move(answered), err);
  if (!err && any_dirty_) write();
}

}  // namespace ferry::broker
