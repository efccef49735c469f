#include "broker/queues/subscription.h"

#include <algorithm>
#include <limits>

#include "broker/core/errors.h"

namespace ferry::broker {
namespace {
constexpr uint32_t count_mask = (1u << delivery_count_bits) - 1;
}

subscription::subscription(std::string name, std::string pattern, subscription_options opts,
                           bool ephemeral, subscription_env& env)
    : name_(std::move(name)),
      pattern_(std::move(pattern)),
      opts_(std::move(opts)),
      ephemeral_(ephemeral),
      env_(env),
      deliver_rate_(env.now()),
      ack_rate_(env.now()) {}

subscription::~subscription() {
  FERRY_ASSERT(consumers_.empty(), "subscription destroyed with consumers attached");
}

// ---- publishing side ----

bool subscription::would_reject(size_t bytes) const {
  if (!opts_.reject_publish) return false;
  if (opts_.max_messages != 0 && ready_count() + 1 > opts_.max_messages) return true;
  if (opts_.max_bytes != 0 && ready_bytes_ + bytes > opts_.max_bytes) return true;
  return false;
}

void subscription::enqueue(const message_ref& m, uint32_t delivery_count) {
  ready_.push_back(queued{m, next_seq_++, delivery_count});
  ready_bytes_ += m.size();
  dispatch();
  if (!opts_.reject_publish) drop_oldest_over_limit();
}

bool subscription::over_limit() const {
  return (opts_.max_messages != 0 && ready_count() > opts_.max_messages) ||
         (opts_.max_bytes != 0 && ready_bytes_ > opts_.max_bytes);
}

void subscription::drop_oldest_over_limit() {
  while (over_limit() && has_ready()) {
    queued q = pop_ready();
    env_.dead_letter(*this, q.seq, q.msg, q.delivery_count, "max_length", {});
  }
}

// ---- the ready queue ----

const subscription::queued& subscription::peek_ready() const {
  // Requeued messages have lower sequence numbers than any never-delivered one (delivery
  // is in order), so they go first and the original order is kept.
  return redeliver_.empty() ? ready_.front() : redeliver_.top();
}

subscription::queued subscription::pop_ready() {
  queued q;
  if (!redeliver_.empty()) {
    q = std::move(const_cast<queued&>(redeliver_.top()));
    redeliver_.pop();
  } else {
    q = std::move(ready_.front());
    ready_.pop_front();
  }
  ready_bytes_ -= q.msg.size();
  return q;
}

consumer* subscription::next_consumer() {
  size_t n = consumers_.size();
  for (size_t i = 0; i < n; ++i) {
    size_t at = (next_consumer_ + i) % n;
    if (consumers_[at]->has_credit()) {
      next_consumer_ = (at + 1) % n;
      return consumers_[at];
    }
  }
  return nullptr;
}

void subscription::dispatch() {
  if (consumers_.empty()) return;
  const int64_t now = env_.now();
  while (has_ready()) {
    if (peek_ready().msg.expired(now)) {
      queued q = pop_ready();
      ++stats_.expired;
      stats_.expired_bytes += q.msg.size();
      env_.dead_letter(*this, q.seq, q.msg, q.delivery_count, "expired", {});
      continue;
    }
    consumer* c = next_consumer();
    if (c == nullptr) return;
    deliver(*c, pop_ready());
  }
}

void subscription::deliver(consumer& c, queued&& q) {
  uint32_t count = ++q.delivery_count;
  uint64_t id = make_delivery_id(q.seq, count);
  c.add_outstanding(1);
  ++stats_.delivered;
  stats_.delivered_bytes += q.msg.size();
  if (count > 1) ++stats_.redelivered;
  delivery_meta meta{id, count, 0, 0, false};
  env_.delivering(*this, q.seq, meta);
  c.sink().deliver(c, q.msg, meta);
  if (c.auto_ack()) {
    ++stats_.acked;
    stats_.acked_bytes += q.msg.size();
    env_.acked(*this, q.seq);
    return;  // at most once: the message is gone once sent
  }
  int64_t deadline = env_.now() + opts_.ack_timeout_ms;
  in_flight_.emplace(q.seq, in_flight_entry{std::move(q.msg), &c, deadline, count});
  push_lease(lease{deadline, q.seq, count});
}

void subscription::push_lease(const lease& l) {
  leases_.push(l);
  constexpr size_t slack = 1024;
  if (leases_.size() <= 2 * in_flight_.size() + slack) return;
  std::vector<lease> live;
  live.reserve(in_flight_.size());
  for (const auto& [seq, e] : in_flight_)
    live.push_back(lease{e.deadline, seq, e.delivery_count});
  leases_ = decltype(leases_)(std::greater<>(), std::move(live));
}

void subscription::requeue(uint64_t seq, message_ref msg, uint32_t delivery_count) {
  if (opts_.max_deliveries != 0 && delivery_count >= opts_.max_deliveries) {
    env_.dead_letter(*this, seq, msg, delivery_count, "max_deliveries", {});
    return;
  }
  ready_bytes_ += msg.size();
  redeliver_.push(queued{std::move(msg), seq, delivery_count});
}

// ---- consumers ----

void subscription::attach(consumer& c) {
  FERRY_ASSERT(c.source() == nullptr, "consumer attached twice");
  c.attach_to(this, this);
  consumers_.push_back(&c);
  dispatch();
}

void subscription::detach(consumer& c) {
  FERRY_ASSERT(c.sub() == this, "detaching a consumer of another subscription");
  auto it = std::find(consumers_.begin(), consumers_.end(), &c);
  consumers_.erase(it);
  c.detach_source();
  next_consumer_ = 0;
  // Requeue its deliveries in sequence order, so redelivery keeps the original order.
  std::vector<uint64_t> seqs;
  for (const auto& [seq, e] : in_flight_)
    if (e.owner == &c) seqs.push_back(seq);
  std::sort(seqs.begin(), seqs.end());
  for (uint64_t seq : seqs) {
    auto node = in_flight_.find(seq);
    message_ref msg = std::move(node->second.msg);
    uint32_t count = node->second.delivery_count;
    in_flight_.erase(node);
    requeue(seq, std::move(msg), count);
  }
  c.clear_outstanding();
  dispatch();
}

void subscription::cancel_consumers(errc code, std::string_view why) {
  while (!consumers_.empty()) {
    consumer* c = consumers_.back();
    detach(*c);
    c->sink().consumer_cancelled(*c, code, why);
  }
}

void subscription::credit(consumer& c, uint32_t n) {
  if (c.auto_ack()) c.remove_outstanding(n);
  dispatch();
}

void subscription::set_prefetch(consumer& c, uint32_t prefetch) {
  c.set_prefetch(prefetch);
  dispatch();
}

ferry::error subscription::find_current(consumer& c, uint64_t delivery_id, in_flight_entry*& out) {
  uint64_t seq = delivery_id >> delivery_count_bits;
  uint32_t count = static_cast<uint32_t>(delivery_id & count_mask);
  if (seq == 0 || seq >= next_seq_)
    return fail(errc::invalid_argument, "delivery id " + std::to_string(delivery_id) +
                                            " was never issued on this subscription");
  auto it = in_flight_.find(seq);
  if (it == in_flight_.end())
    return fail(errc::stale_delivery,
                "delivery " + std::to_string(delivery_id) +
                    " is no longer in flight: it was settled, or its lease ended and it was "
                    "requeued");
  auto& e = it->second;
  if ((e.delivery_count & count_mask) != count || e.owner != &c)
    return fail(errc::stale_delivery, "delivery " + std::to_string(delivery_id) +
                                          " was superseded: the message was redelivered" +
                                          (e.owner != &c ? " to another consumer" : "") +
                                          " (delivery " + std::to_string(e.delivery_count) + ")");
  out = &e;
  return {};
}

uint32_t subscription::settle(consumer& c, const settle_request& r,
                              std::span<const uint64_t> delivery_ids, const refusal_fn& refused) {
  uint32_t settled = 0;
  for (uint64_t id : delivery_ids) {
    if (auto err = settle_one(c, r, id)) {
      refused(id, err);
      continue;
    }
    ++settled;
  }
  if (r.kind != settle_kind::extend) dispatch();
  return settled;
}

ferry::error subscription::settle_one(consumer& c, const settle_request& r, uint64_t delivery_id) {
  in_flight_entry* e = nullptr;
  if (auto err = find_current(c, delivery_id, e)) return err;
  const uint64_t seq = delivery_id >> delivery_count_bits;
  if (r.kind == settle_kind::extend) {
    constexpr int64_t max_lease_ms = 24LL * 3600 * 1000;
    e->deadline =
        env_.now() + (r.lease_ms > 0 ? std::min(r.lease_ms, max_lease_ms) : opts_.ack_timeout_ms);
    push_lease(lease{e->deadline, seq, e->delivery_count});
    return {};
  }
  message_ref msg = std::move(e->msg);
  uint32_t count = e->delivery_count;
  in_flight_.erase(seq);
  c.remove_outstanding(1);
  switch (r.kind) {
    case settle_kind::ack:
      ++stats_.acked;
      stats_.acked_bytes += msg.size();
      env_.acked(*this, seq);
      break;
    case settle_kind::requeue:
      ++stats_.nacked;
      requeue(seq, std::move(msg), count);
      break;
    case settle_kind::dead_letter:
      ++stats_.nacked;
      env_.dead_letter(*this, seq, msg, count, r.dead_letter_reason, r.reason);
      break;
    case settle_kind::extend: break;
  }
  return {};
}

namespace {
// Settles one id through settle(): its refusal, if any.
ferry::error settle_single(subscription& s, consumer& c, const subscription::settle_request& r,
                           uint64_t delivery_id) {
  ferry::error out;
  s.settle(c, r, std::span<const uint64_t>(&delivery_id, 1),
           [&](uint64_t, const ferry::error& why) { out = why; });
  return out;
}
}  // namespace

ferry::error subscription::ack(consumer& c, uint64_t delivery_id) {
  return settle_single(*this, c, {settle_kind::ack, {}, 0}, delivery_id);
}

ferry::error subscription::nack(consumer& c, uint64_t delivery_id, bool dead_letter,
                                std::string_view reason) {
  auto kind = dead_letter ? settle_kind::dead_letter : settle_kind::requeue;
  return settle_single(*this, c, {kind, reason, 0}, delivery_id);
}

ferry::error subscription::extend(consumer& c, uint64_t delivery_id, int64_t lease_ms) {
  return settle_single(*this, c, {settle_kind::extend, {}, lease_ms}, delivery_id);
}

// ---- timers ----

void subscription::on_tick() {
  const int64_t now = env_.now();
  bool requeued = false;
  while (!leases_.empty() && leases_.top().deadline <= now) {
    lease l = leases_.top();
    leases_.pop();
    auto it = in_flight_.find(l.seq);
    // Stale heap entries (settled, extended or redelivered since) are skipped.
    if (it == in_flight_.end() || it->second.delivery_count != l.delivery_count ||
        it->second.deadline != l.deadline)
      continue;
    message_ref msg = std::move(it->second.msg);
    it->second.owner->remove_outstanding(1);
    in_flight_.erase(it);
    requeue(l.seq, std::move(msg), l.delivery_count);
    requeued = true;
  }
  // TTL: expired messages are removed when they reach the head (as in RabbitMQ), here
  // also without a consumer, so depth and memory reflect them.
  while (has_ready() && peek_ready().msg.expired(now)) {
    queued q = pop_ready();
    ++stats_.expired;
    stats_.expired_bytes += q.msg.size();
    env_.dead_letter(*this, q.seq, q.msg, q.delivery_count, "expired", {});
  }
  if (requeued) dispatch();
}

int64_t subscription::next_deadline() const {
  int64_t t = std::numeric_limits<int64_t>::max();
  if (!leases_.empty()) t = leases_.top().deadline;
  if (has_ready() && peek_ready().msg.expires_at != 0) t = std::min(t, peek_ready().msg.expires_at);
  return t;
}

}  // namespace ferry::broker
