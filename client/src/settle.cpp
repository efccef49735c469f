// subscriber: settling deliveries. ack/nack/extend calls of one turn are collected per
// consumer, kind and parameters, and each collection goes out as one frame at the end of
// the turn (Ack, Nack or ExtendLease, answered by SettleOk).
#include <algorithm>

#include <boost/asio/post.hpp>

#include "ferry/v1/consume.pb.h"

#include "client/src/subscriber.h"

namespace ferry::client::detail {

namespace {

// Keeps a settle frame far below any sane max_frame_bytes (10 bytes per id at most).
constexpr size_t max_ids_per_frame = 50000;

// A whole settle frame failed: waiters learn it; the other ids go to on_settle_error, or
// make one stderr line for the frame.
void fail_batch(consumer_state& s, settle_batch& b, const error& e) {
  for (auto& [id, h] : b.waiters) {
    complete(s.ex, std::move(h), e);
    auto pos = std::find(b.ids.begin(), b.ids.end(), id);
    if (pos != b.ids.end()) *pos = 0;  // delivery ids are never 0
  }
  b.waiters.clear();
  size_t n = 0;
  for (uint64_t id : b.ids) {
    if (id == 0) continue;
    if (s.on_settle_error) s.on_settle_error(id, e);
    ++n;
  }
  if (n > 0 && !s.on_settle_error)
    log_warning("settling " + std::to_string(n) + " deliveries of subscription '" + s.subscription +
                "' failed: " + e.to_string());
}

class settle_op final : public pending_op {
 public:
  settle_op(std::shared_ptr<consumer_state> s, uint64_t consumer_id, settle_batch b)
      : s_(std::move(s)), consumer_id_(consumer_id), b_(std::move(b)) {}

  void write(std::vector<uint8_t>& out, uint64_t id) override {
    switch (b_.kind) {
      case settle_kind::ack: {
        v1::Ack m;
        m.set_consumer_id(consumer_id_);
        m.mutable_delivery_ids()->Add(b_.ids.begin(), b_.ids.end());
        reserve_more(out, m.ByteSizeLong() + 32);
        codec::append_frame(out, id, codec::body::ack, m);
        break;
      }
      case settle_kind::nack: {
        v1::Nack m;
        m.set_consumer_id(consumer_id_);
        m.mutable_delivery_ids()->Add(b_.ids.begin(), b_.ids.end());
        m.set_action(b_.dead_letter ? v1::Nack::DEAD_LETTER : v1::Nack::REQUEUE);
        m.set_reason(b_.reason);
        reserve_more(out, m.ByteSizeLong() + 32);
        codec::append_frame(out, id, codec::body::nack, m);
        break;
      }
      case settle_kind::extend: {
        v1::ExtendLease m;
        m.set_consumer_id(consumer_id_);
        m.mutable_delivery_ids()->Add(b_.ids.begin(), b_.ids.end());
        m.set_extend_ms(b_.extend_ms);
        reserve_more(out, m.ByteSizeLong() + 32);
        codec::append_frame(out, id, codec::body::extend_lease, m);
        break;
      }
    }
  }

  void on_response(link&, const codec::frame_view& f) override {
    if (f.kind == codec::body::error) return fail(error_from_body(f.bytes));
    v1::SettleOk ok;
    if (f.kind != codec::body::settle_ok ||
        !ok.ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size())))
      return fail(make_error(errc::malformed_frame, "expected SettleOk from the broker"));
    std::vector<std::pair<uint64_t, error>> errs;
    for (const auto& de : ok.errors())
      errs.emplace_back(de.delivery_id(),
                        error{make_error_code(errc_from_wire(de.code())), de.message()});
    for (auto& [id, h] : b_.waiters) {
      auto it =
          std::find_if(errs.begin(), errs.end(), [&](const auto& x) { return x.first == id; });
      if (it == errs.end()) {
        complete(s_->ex, std::move(h), error{});
      } else {
        complete(s_->ex, std::move(h), it->second);
        it->first = 0;  // told to its waiter; delivery ids are never 0
      }
    }
    for (auto& [id, e] : errs)
      if (id != 0) report_settle_error(*s_, id, e);
  }

  void on_failure(link&, const error& e) override { fail(e); }

 private:
  void fail(const error& e) { fail_batch(*s_, b_, e); }

  std::shared_ptr<consumer_state> s_;
  uint64_t consumer_id_;
  settle_batch b_;
};

settle_batch& batch_for(consumer_state& s, settle_kind kind, bool dead_letter,
                        std::string_view reason, uint32_t extend_ms) {
  for (auto& b : s.batches)
    if (b.kind == kind && b.dead_letter == dead_letter && b.reason == reason &&
        b.extend_ms == extend_ms && b.ids.size() < max_ids_per_frame)
      return b;
  auto& b = s.batches.emplace_back();
  b.kind = kind;
  b.dead_letter = dead_letter;
  b.reason = reason;
  b.extend_ms = extend_ms;
  return b;
}

}  // namespace

void subscriber::settle(const std::shared_ptr<consumer_state>& s, settle_kind kind, uint64_t epoch,
                        uint64_t consumer_id, uint64_t delivery_id, bool dead_letter,
                        std::string_view reason, uint32_t extend_ms, void_handler h) {
  if (s->opts.auto_ack) {  // nothing to settle: the broker counted them as acked
    if (h) complete_later(s->ex, std::move(h), error{});
    return;
  }
  error e;
  if (s->closed)
    e = make_error(errc::unknown_consumer, "consumer closed");
  else if (epoch == 0 || epoch != s->epoch || epoch != c_.epoch() || consumer_id != s->broker_id)
    e = make_error(errc::disconnected,
                   "delivery from an earlier connection; the broker redelivers it");
  if (e) {
    if (h)
      complete_later(s->ex, std::move(h), e);
    else
      asio::post(s->ex, [s, delivery_id, e] { report_settle_error(*s, delivery_id, e); });
    return;
  }
  settle_batch& b = batch_for(*s, kind, dead_letter, reason, extend_ms);
  b.ids.push_back(delivery_id);
  if (h) b.waiters.emplace_back(delivery_id, std::move(h));
  if (!s->dirty) {
    s->dirty = true;
    dirty_.push_back(s);
  }
  if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(c_.executor(), lifetime_.guard([this] { flush(); }));
  }
}

void subscriber::flush() {
  flush_posted_ = false;
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (auto& s : dirty)
    flush_consumer(s);
}

void subscriber::flush_consumer(const std::shared_ptr<consumer_state>& s) {
  s->dirty = false;
  auto batches = std::move(s->batches);
  s->batches.clear();
  bool live = attached(c_, *s);
  for (auto& b : batches) {
    if (b.ids.empty()) continue;
    if (!live) {
      fail_batch(*s, b, make_error(errc::disconnected, "connection to the broker lost"));
      continue;
    }
    c_.register_op(c_.next_id(), std::make_unique<settle_op>(s, s->broker_id, std::move(b)));
  }
}

void fail_batches(consumer_state& s, const error& e) {
  auto batches = std::move(s.batches);
  s.batches.clear();
  for (auto& b : batches)
    fail_batch(s, b, e);
}

void report_settle_error(consumer_state& s, uint64_t delivery_id, const error& e) {
  if (s.on_settle_error)
    s.on_settle_error(delivery_id, e);
  else
    log_warning("settling delivery " + std::to_string(delivery_id) + " of subscription '" +
                s.subscription + "' failed: " + e.to_string());
}

}  // namespace ferry::client::detail
