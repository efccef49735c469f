// nats_client: what the NATS drivers (nats_driver.cpp) share: owning handles for cnats
// objects, connecting, errors, and the flow control between one publishing thread and the
// readers that cnats calls back on its own threads.
//
// Private to bench/drivers/nats_*.
#pragma once

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include <nats/nats.h>

#include "bench/measurement.h"
#include "proto/codec/errc.h"

namespace ferry::bench::nats {

// ---- owning handles ----
struct conn_deleter {
  void operator()(natsConnection* c) const {
    natsConnection_Close(c);
    natsConnection_Destroy(c);
  }
};
struct sub_deleter {
  void operator()(natsSubscription* s) const {
    natsSubscription_Unsubscribe(s);
    natsSubscription_Destroy(s);
  }
};
struct opts_deleter {
  void operator()(natsOptions* o) const { natsOptions_Destroy(o); }
};
struct js_deleter {
  void operator()(jsCtx* j) const { jsCtx_Destroy(j); }
};
using conn_ptr = std::unique_ptr<natsConnection, conn_deleter>;
using sub_ptr = std::unique_ptr<natsSubscription, sub_deleter>;
using opts_ptr = std::unique_ptr<natsOptions, opts_deleter>;
using js_ptr = std::unique_ptr<jsCtx, js_deleter>;

// Unsubscribes every subscription and waits (up to 5 s) until none of their handlers runs
// any more, so the readers they point to can go.
inline void close_subscriptions(std::vector<sub_ptr>& subs) {
  struct latch {
    std::mutex mu;
    std::condition_variable cv;
    size_t left = 0;
  } l;
  auto done = [](void* c) {
    auto* p = static_cast<latch*>(c);
    std::lock_guard lock(p->mu);
    if (--p->left == 0) p->cv.notify_all();
  };
  for (auto& s : subs) {
    if (!s) continue;
    if (natsSubscription_SetOnCompleteCB(s.get(), done, &l) != NATS_OK) continue;
    {
      std::lock_guard lock(l.mu);
      ++l.left;
    }
    if (natsSubscription_Unsubscribe(s.get()) != NATS_OK) {
      std::lock_guard lock(l.mu);
      --l.left;  // already closed: its handler has returned
    }
  }
  std::unique_lock lock(l.mu);
  bool all = l.cv.wait_for(lock, std::chrono::seconds(5), [&] { return l.left == 0; });
  lock.unlock();
  if (!all) {
    // A handler still runs: leak the subscriptions rather than free what it uses.
    for (auto& s : subs)
      (void)s.release();
  }
  subs.clear();
}

// `what` failed with `s` (cnats' last error text added when it has one).
inline ferry::error fail(const std::string& what, natsStatus s, jsErrCode js = jsErrCode(0)) {
  errc code = s == NATS_TIMEOUT                                      ? errc::timeout
              : (s == NATS_NO_SERVER || s == NATS_CONNECTION_CLOSED) ? errc::disconnected
              : (s == NATS_SLOW_CONSUMER)                            ? errc::slow_consumer
                                                                     : errc::internal;
  std::string text = what + ": " + natsStatus_GetText(s);
  if (js != 0) text += " (JetStream error " + std::to_string(static_cast<int>(js)) + ")";
  const char* last = nats_GetLastError(nullptr);
  if (last != nullptr && *last != '\0') text += std::string(" (") + last + ")";
  return {make_error_code(code), text};
}

// Options every bench connection uses: no reconnects (a broken connection fails the run),
// deep per-subscription buffers (the publisher's window bounds them; cnats' default of
// 65,536 messages would otherwise drop messages as a "slow consumer" in fan-out),
// `send_asap` for fixed-rate publishers (each publish goes to the socket at once instead of
// waiting for cnats' flusher thread).
inline ferry::error connect(const std::string& host, uint16_t port, const std::string& name,
                            bool send_asap, conn_ptr& out) {
  natsOptions* raw = nullptr;
  if (auto s = natsOptions_Create(&raw); s != NATS_OK) return fail("natsOptions_Create", s);
  opts_ptr o(raw);
  std::string url = "nats://" + host + ":" + std::to_string(port);
  natsOptions_SetURL(o.get(), url.c_str());
  natsOptions_SetName(o.get(), name.c_str());
  natsOptions_SetAllowReconnect(o.get(), false);
  natsOptions_SetMaxPendingMsgs(o.get(), 1 << 20);  // (x 1 KiB = the bytes limit)
  natsOptions_SetSendAsap(o.get(), send_asap);
  natsOptions_SetTimeout(o.get(), 5000);
  natsConnection* c = nullptr;
  if (auto s = natsConnection_Connect(&c, o.get()); s != NATS_OK)
    return fail("connect to " + url, s);
  out.reset(c);
  return {};
}

// ---- flow between the publishing thread and the readers ----
// A max-rate publisher keeps at most `window` messages sent but not yet received by the
// slowest reader (nor, with JetStream, not yet confirmed by a PubAck): it sleeps on `cv_`
// and readers (on cnats' threads) wake it once the lag is back under `refill_below`
// (workload.h: the refill policy every driver follows).
class flow {
 public:
  flow(measurement& m, const workload& w)
      : m_(m), window_(std::max<uint64_t>(w.window, 2)), resume_(refill_below(w)) {}

  // Messages whose confirm is still outstanding (JetStream; core NATS confirms at once).
  void add_unconfirmed(uint64_t n) { unconfirmed_ += n; }
  // The last thing a PubAck handler does: after the decrement it touches nothing of ours,
  // so a run may end once unconfirmed() is 0.
  void confirmed_one() {
    wake_if_ready(1);
    --unconfirmed_;
  }
  uint64_t unconfirmed() const { return unconfirmed_.load(); }
  // A reader took a message; called on the reader's thread.
  void delivered() { wake_if_ready(0); }

  // Publishing thread: blocks while the window is full, until `deadline` at the latest.
  // Returns false if the deadline passed.
  bool wait_for_room(bool count_readers, steady::time_point deadline) {
    count_readers_.store(count_readers, std::memory_order_relaxed);
    if (room(window_)) return true;
    std::unique_lock lock(mu_);
    waiting_ = true;
    while (!room(resume_)) {
      if (steady::now() >= deadline) {
        waiting_ = false;
        return false;
      }
      cv_.wait_for(lock, std::chrono::milliseconds(2));
    }
    waiting_ = false;
    return true;
  }
  // Wakes a publisher waiting for confirms or readers (e.g. at the end).
  void wake() {
    std::lock_guard lock(mu_);
    cv_.notify_one();
  }

 private:
  // `leaving`: confirms about to be subtracted from unconfirmed_.
  bool room(uint64_t limit, uint64_t leaving = 0) const {
    uint64_t sent = m_.sent();
    if (unconfirmed_.load() - std::min(leaving, unconfirmed_.load()) >= limit) return false;
    return !count_readers_.load(std::memory_order_relaxed) ||
           sent - std::min(sent, m_.slowest_received()) < limit;
  }
  void wake_if_ready(uint64_t leaving) {
    if (!waiting_.load(std::memory_order_relaxed) || !room(resume_, leaving)) return;
    std::lock_guard lock(mu_);
    cv_.notify_one();
  }

  measurement& m_;
  const uint64_t window_;
  const uint64_t resume_;  // a full window sends again below this
  std::atomic<uint64_t> unconfirmed_{0};
  std::atomic<bool> waiting_{false};
  std::atomic<bool> count_readers_{true};
  std::mutex mu_;
  std::condition_variable cv_;
};

// One reader as cnats sees it: the closure of an async subscription, called on that
// subscription's delivery thread. Several consumers of one subscription (a queue group)
// share a reader and serialize through `mu`.
struct reader {
  measurement* m = nullptr;
  flow* fl = nullptr;
  size_t index = 0;
  bool ack = false;      // JetStream acks: ack messages after counting them
  bool ack_all = false;  // AckAll: one ack settles everything before it (one consumer)
  bool shared = false;   // more than one consumer (thread) feeds this reader
  uint32_t unacked = 0;  // ack_all: counted and not yet acked
  std::mutex mu;
};

// With AckAll a reader acks once per burst, as libferry sends one Ack frame per read:
// when nothing more is buffered for it, or every 256 messages.
inline void ack(reader& r, natsSubscription* sub, natsMsg* msg) {
  if (!r.ack_all) {
    natsMsg_Ack(msg, nullptr);  // fire and forget, as a consumer at speed would
    return;
  }
  int pending = 0, bytes = 0;
  if (++r.unacked < 256 && natsSubscription_GetPending(sub, &pending, &bytes) == NATS_OK &&
      pending > 0)
    return;
  r.unacked = 0;
  natsMsg_Ack(msg, nullptr);
}

// Counts one message for reader `r`.
inline void count(reader& r, natsMsg* msg) {
  std::string_view payload(natsMsg_GetData(msg), static_cast<size_t>(natsMsg_GetDataLength(msg)));
  if (r.shared) {
    std::lock_guard lock(r.mu);
    r.m->on_message(r.index, payload);
  } else {
    r.m->on_message(r.index, payload);
  }
}

// natsMsgHandler for every bench push subscription (core and JetStream).
inline void on_message(natsConnection*, natsSubscription* sub, natsMsg* msg, void* closure) {
  auto* r = static_cast<reader*>(closure);
  count(*r, msg);
  if (r->ack) ack(*r, sub, msg);
  natsMsg_Destroy(msg);
  r->fl->delivered();
}

// One batch of a pull subscription (JetStream; only a lone consumer pulls, with AckAll):
// every message counted, then one ack of the batch's last message settles the batch. The
// list stays the caller's.
inline void on_batch(reader& r, const natsMsgList& list) {
  if (list.Count == 0) return;
  for (int k = 0; k < list.Count; ++k)
    count(r, list.Msgs[k]);
  natsMsg_Ack(list.Msgs[list.Count - 1], nullptr);
  r.fl->delivered();
}

// The intended send time stamped into a payload (measurement.h: bytes 8..16).
inline steady::time_point intended_of(const measurement& m, const char* data, int len) {
  int64_t ns = 0;
  if (len >= 16) std::memcpy(&ns, data + 8, 8);
  return m.t0() + std::chrono::nanoseconds(ns);
}

}  // namespace ferry::bench::nats
