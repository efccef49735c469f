// Model-based test of a subscription's at-least-once contract. Random sequences of
// publish / ack / nack / lease extension / disconnect / time passing run against a real
// subscription and a model of what must hold:
// - nothing acked (or dead-lettered) is delivered again;
// - nothing unacked is lost: after draining, every message is acked or dead-lettered;
// - a consumer never holds more unsettled deliveries than its prefetch;
// - a message is in flight to at most one consumer at a time, and delivery counts grow by one;
// - a settle request succeeds exactly when its attempt is current (else STALE_DELIVERY).
#include <map>
#include <memory>
#include <set>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

#include "broker/queues/subscription.h"
#include "broker/topics/testing.h"

using namespace ferry::broker;
using ferry::errc;

namespace {

struct model_env final : subscription_env {
  int64_t t = 1000;
  std::vector<int> dead;  // payloads, in order
  int64_t now() const override { return t; }
  void dead_letter(subscription&, uint64_t, const message_ref& m, uint32_t, std::string_view,
                   std::string_view) override {
    ferry::codec::message_fields f;
    (void)ferry::codec::parse_message(m.bytes, f, nullptr);
    dead.push_back(std::stoi(std::string(f.payload)));
  }
};

struct attempt {
  uint64_t delivery_id;
  int payload;
  size_t slot;
  uint64_t consumer_id;
  int64_t deadline;
  bool current;
};

struct op {
  int kind;  // 0 publish, 1 ack, 2 nack requeue, 3 nack dead-letter, 4 extend, 5 time, 6 reconnect
  int a;
  int b;
};

void showValue(const op& o, std::ostream& os) {
  os << "{" << o.kind << "," << o.a << "," << o.b << "}";
}

class harness {
 public:
  harness(uint32_t max_deliveries, int64_t ack_timeout, std::vector<uint32_t> prefetches)
      : ack_timeout_(ack_timeout) {
    subscription_options o;
    o.max_deliveries = max_deliveries;
    o.ack_timeout_ms = ack_timeout;
    max_deliveries_ = max_deliveries;
    sub_ = std::make_unique<subscription>("s", "t", o, false, env_);
    for (uint32_t p : prefetches) {
      slots_.push_back(std::make_unique<consumer>(next_id_++, sink_, p, false));
      sub_->attach(*slots_.back());
      observe();
    }
  }
  ~harness() {
    for (auto& c : slots_)
      if (c && c->sub()) sub_->detach(*c);
  }

  void run(const op& o) {
    switch (o.kind) {
      case 0:
        for (int i = 0; i <= o.a % 4; ++i) {
          published_.insert(next_payload_);
          sub_->enqueue(testing::make_ref("t", std::to_string(next_payload_++)));
          observe();
        }
        break;
      case 1:
      case 2:
      case 3:
      case 4: settle(o); break;
      case 5:
        env_.t += o.a % (ack_timeout_ + 20);
        for (auto& at : attempts_)
          if (at.current && at.deadline <= env_.t) at.current = false;  // lease ended
        sub_->on_tick();
        observe();
        break;
      case 6: {
        size_t slot = static_cast<size_t>(o.a) % slots_.size();
        sub_->detach(*slots_[slot]);
        for (auto& at : attempts_)
          if (at.current && at.slot == slot) at.current = false;
        observe();
        slots_[slot] = std::make_unique<consumer>(next_id_++, sink_, 1 + o.b % 4, false);
        sub_->attach(*slots_[slot]);
        observe();
        break;
      }
    }
    check_invariants();
  }

  // Detaches everyone, then drains with one consumer that acks everything.
  void drain_and_check() {
    for (size_t i = 0; i < slots_.size(); ++i) {
      sub_->detach(*slots_[i]);  // may redeliver to the ones still attached
      for (auto& at : attempts_)
        if (at.slot == i) at.current = false;
      observe();
    }
    slots_.clear();
    slots_.push_back(std::make_unique<consumer>(next_id_++, sink_, 1'000'000, false));
    sub_->attach(*slots_[0]);
    for (int round = 0; round < 100; ++round) {
      observe();
      bool any = false;
      for (auto& at : attempts_) {
        if (!at.current) continue;
        RC_ASSERT(!sub_->ack(*slots_[0], at.delivery_id));
        at.current = false;
        acked_.insert(at.payload);
        any = true;
      }
      if (!any && sub_->ready_count() == 0) break;
    }
    RC_ASSERT(sub_->ready_count() == 0u);
    RC_ASSERT(sub_->in_flight_count() == 0u);
    std::set<int> dead(env_.dead.begin(), env_.dead.end());
    RC_ASSERT(dead.size() == env_.dead.size());  // dead-lettered at most once
    for (int p : published_) {
      bool a = acked_.contains(p), d = dead.contains(p);
      RC_ASSERT(a != d);  // exactly one fate: nothing lost, nothing both
    }
  }

 private:
  // Folds new deliveries into the model, checking each against it.
  void observe() {
    for (; seen_ < sink_.records.size(); ++seen_) {
      const auto& r = sink_.records[seen_];
      int payload = std::stoi(r.payload);
      RC_ASSERT(!acked_.contains(payload));  // nothing acked comes back
      RC_ASSERT(std::find(env_.dead.begin(), env_.dead.end(), payload) == env_.dead.end());
      uint32_t previous = 0;
      for (const auto& at : attempts_) {
        if (at.payload != payload) continue;
        RC_ASSERT(!at.current);  // never in flight twice
        ++previous;
      }
      RC_ASSERT(r.delivery_count == previous + 1);
      if (max_deliveries_ != 0) RC_ASSERT(r.delivery_count <= max_deliveries_);
      size_t slot = slot_of(r.consumer_id);
      attempts_.push_back(
          {r.delivery_id, payload, slot, r.consumer_id, env_.t + ack_timeout_, true});
    }
  }

  size_t slot_of(uint64_t consumer_id) const {
    for (size_t i = 0; i < slots_.size(); ++i)
      if (slots_[i] && slots_[i]->id() == consumer_id) return i;
    RC_FAIL("delivery to an unknown consumer");
  }

  void settle(const op& o) {
    if (attempts_.empty()) return;
    auto& at = attempts_[static_cast<size_t>(o.a) % attempts_.size()];
    // Send it from the consumer that got it if still attached, else from a random one.
    size_t slot = at.slot;
    if (slots_[slot]->id() != at.consumer_id) slot = static_cast<size_t>(o.b) % slots_.size();
    consumer& c = *slots_[slot];
    bool expect_ok = at.current && c.id() == at.consumer_id;
    ferry::error rc;
    if (o.kind == 1) rc = sub_->ack(c, at.delivery_id);
    if (o.kind == 2) rc = sub_->nack(c, at.delivery_id, false, "");
    if (o.kind == 3) rc = sub_->nack(c, at.delivery_id, true, "test");
    if (o.kind == 4) rc = sub_->extend(c, at.delivery_id, 0);
    RC_ASSERT(!rc == expect_ok);
    if (!expect_ok) RC_ASSERT(rc.code == errc::stale_delivery);
    if (expect_ok) {
      if (o.kind == 4) {
        at.deadline = env_.t + ack_timeout_;
      } else {
        at.current = false;
        if (o.kind == 1) acked_.insert(at.payload);
      }
    }
    observe();
  }

  void check_invariants() {
    for (size_t i = 0; i < slots_.size(); ++i) {
      uint32_t current = 0;
      for (const auto& at : attempts_)
        if (at.current && at.consumer_id == slots_[i]->id()) ++current;
      RC_ASSERT(current == slots_[i]->outstanding());
      RC_ASSERT(current <= slots_[i]->prefetch());  // prefetch never exceeded
    }
  }

  model_env env_;
  testing::recording_sink sink_;
  std::unique_ptr<subscription> sub_;
  std::vector<std::unique_ptr<consumer>> slots_;
  std::vector<attempt> attempts_;
  std::set<int> published_, acked_;
  size_t seen_ = 0;
  uint64_t next_id_ = 1;
  int next_payload_ = 0;
  int64_t ack_timeout_;
  uint32_t max_deliveries_ = 0;
};

}  // namespace

TEST_CASE("subscription keeps its at-least-once contract under random operations",
          "[topics][subscription][model]") {
  rc::prop("model", [] {
    uint32_t max_deliveries = *rc::gen::element<uint32_t>(0, 1, 2, 3, 5);
    int64_t ack_timeout = *rc::gen::inRange<int64_t>(10, 200);
    auto prefetches = *rc::gen::container<std::vector<uint32_t>>(*rc::gen::inRange<size_t>(1, 4),
                                                                 rc::gen::inRange<uint32_t>(1, 6));
    auto ops = *rc::gen::container<std::vector<op>>(
        rc::gen::build<op>(rc::gen::set(&op::kind, rc::gen::inRange(0, 7)),
                           rc::gen::set(&op::a, rc::gen::inRange(0, 1000)),
                           rc::gen::set(&op::b, rc::gen::inRange(0, 1000))));
    harness h(max_deliveries, ack_timeout, prefetches);
    for (const auto& o : ops)
      h.run(o);
    h.drain_and_check();
  });
}
