// The NATS drivers of ferry-bench, through cnats (libnats): "nats" (core NATS) and
// "jetstream". How ferry's workloads map onto them:
//
// nats (core): a topic is a subject; a subscription is a plain subscription on its own
//   connection (a queue group when it has several consumers). Core NATS is at most once:
//   there are no publish confirms, so a message counts as confirmed when
//   natsConnection_Publish returns (it sits in the client's buffer then), and no consumer
//   acks, so workloads with consumer acks and every log workload are unsupported.
//   connections-N opens N raw TCP connections that complete the NATS handshake.
// jetstream: one stream, a subject per topic; the PubAck of js_PublishAsync is the
//   confirm. Memory workloads use a memory stream: with consumer acks it plays the queue
//   (interest retention: a message goes once every consumer acked it; one durable push
//   consumer per subscription, explicit acks, one async +ACK per message); without acks each
//   subscription is an ordered push consumer (no acks, flow control). Log workloads use a
//   file stream with one ordered consumer per reader from the first message. nats-server
//   2.9 fsyncs JetStream files every 2 minutes (sync_interval; not configurable before
//   2.10): a PubAck means the record reached the OS page cache, not the disk.
//
// Threads: the publisher is the thread that calls run(); cnats calls every subscription's
// handler on that subscription's own delivery thread, and JetStream PubAcks on one more.
// A max-rate publisher keeps a window against the slowest reader (nats_client.h: flow),
// like bench/run.cpp.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <sys/prctl.h>

#include "bench/driver.h"
#include "bench/drivers/nats_client.h"
#include "bench/drivers/nats_idle.h"
#include "bench/idle_connections.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
namespace nc = ferry::bench::nats;

constexpr const char* subject_prefix = "ferry-bench.";
constexpr const char* stream_name = "FERRY_BENCH";
constexpr auto drain_time = 5s;
constexpr auto catchup_limit = 600s;

ferry::error not_supported(const std::string& why) {
  return {make_error_code(errc::not_supported), why};
}

// Topic k is subject "ferry-bench.<k>"; message `seq` goes to topic seq % topics and
// reader i reads topic i / subscriptions_per_topic (as measurement.cpp counts them).
std::vector<std::string> subjects(const workload& w) {
  std::vector<std::string> s;
  for (uint32_t k = 0; k < std::max<uint32_t>(w.topics, 1); ++k)
    s.push_back(subject_prefix + std::to_string(k));
  return s;
}

uint32_t reader_count(const workload& w) {
  return std::max<uint32_t>(w.topics, 1) * w.subscriptions_per_topic;
}

uint32_t topic_of_reader(const workload& w, uint32_t i) {
  return i / std::max<uint32_t>(w.subscriptions_per_topic, 1);
}

// Sets the calling thread's timer slack for its lifetime.
class timer_slack {
 public:
  explicit timer_slack(unsigned long ns) : old_(prctl(PR_GET_TIMERSLACK, 0, 0, 0, 0)) {
    prctl(PR_SET_TIMERSLACK, ns, 0, 0, 0);
  }
  ~timer_slack() {
    if (old_ > 0) prctl(PR_SET_TIMERSLACK, static_cast<unsigned long>(old_), 0, 0, 0);
  }
  timer_slack(const timer_slack&) = delete;
  timer_slack& operator=(const timer_slack&) = delete;

 private:
  int old_;
};

// Publishes from the calling thread until the measured window ends, or, with `total` > 0,
// until `total` messages are out (catch-up writing). `publish(seq, payload)` sends one;
// `after(n, intended)` runs after each batch (core NATS confirms there).
template <class Publish, class After>
ferry::error publish_loop(const workload& w, measurement& m, nc::flow& fl, uint64_t total,
                          Publish publish, After after) {
  std::string payload;
  if (w.producer_rate != 0 && total == 0) {
    // Open loop: message i is sent at its due time and stamped with it, however late. A
    // 1 ns timer slack (default 50 µs) keeps the sleeps from adding latency of their own.
    timer_slack fine(1);
    for (;;) {
      auto due = m.due(m.sent());
      if (m.past_end(due)) return {};
      std::this_thread::sleep_until(due);
      auto now = steady::now();
      while (m.due(m.sent()) <= now && !m.past_end(m.due(m.sent()))) {
        uint64_t seq = m.next_sequence();
        m.stamp(payload, seq, m.due(seq));
        if (auto e = publish(seq, payload)) return e;
        after(1, m.due(seq));
      }
    }
  }
  auto give_up = steady::now() + catchup_limit;
  for (;;) {
    auto now = steady::now();
    if (total == 0 ? m.past_end(now) : m.sent() >= total) return {};
    if (total != 0 && now >= give_up) return {make_error_code(errc::timeout), "writing stalled"};
    if (!fl.wait_for_room(total == 0, now + 50ms)) continue;
    uint64_t n = w.batch == 0 ? 1 : w.batch;
    if (total != 0) n = std::min(n, total - m.sent());
    auto intended = steady::now();
    for (uint64_t i = 0; i < n; ++i) {
      uint64_t seq = m.next_sequence();
      m.stamp(payload, seq, intended);
      if (auto e = publish(seq, payload)) return e;
    }
    after(n, intended);
  }
}

// Waits until every reader has every message and every confirm is in, or `limit` passed.
void drain(measurement& m, nc::flow& fl, std::chrono::seconds limit) {
  auto deadline = steady::now() + limit;
  while ((!m.drained() || fl.unconfirmed() != 0) && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
}

// connections-N: N handshaken connections; the server's VmRSS before and after.
ferry::error run_idle(const workload& w, const endpoint& at, measurement& m) {
  m.start(steady::now());
  nc::idle_sockets socks;
  auto e = measure_idle_connections(w, at, m, [&](std::string& error) {
    for (uint32_t i = 0; i < w.idle_connections && error.empty(); ++i)
      if (auto opened = socks.open_one(at.host, at.port))
        error = "idle connection " + std::to_string(i) + ": " + opened.message;
    return socks.size();
  });
  return e.empty() ? ferry::error{} : ferry::error{make_error_code(errc::internal), "nats: " + e};
}

// ---------------------------------------------------------------------------------------
// core NATS
class nats_driver final : public driver {
 public:
  // ---- driver ----
  std::string name() const override { return "nats"; }

  std::string unsupported(const workload& w) const override {
    if (w.idle_connections != 0) return {};
    if (w.kind == topic_kind::log)
      return "NATS core keeps no messages (no log, no persistence): see jetstream";
    if (w.consumer_acks) return "NATS core has no acknowledgements (at most once): see jetstream";
    return {};
  }

  std::string equivalence(const workload& w) const override {
    if (w.idle_connections != 0)
      return std::to_string(w.idle_connections) +
             " raw TCP connections, each through CONNECT and PING/PONG; server VmRSS "
             "before/after";
    std::string subs = std::to_string(w.subscriptions_per_topic) +
                       (w.consumers_per_subscription > 1 ? " queue groups" : " subscriptions");
    return "core NATS subject per topic, " + subs +
           " (one connection each); at most once: no publish confirm exists, a message "
           "counts as confirmed when natsConnection_Publish returns (ferry: broker confirm)";
  }

  ferry::error run(const workload& w, const endpoint& at, measurement& m) override {
    if (auto why = unsupported(w); !why.empty()) return not_supported(why);
    if (w.idle_connections != 0) return run_idle(w, at, m);
    nc::flow fl(m, w.window);
    bool paced = w.producer_rate != 0;
    auto subj = subjects(w);

    std::vector<nc::conn_ptr> pubs(std::max<uint32_t>(w.producers_per_topic, 1));
    for (auto& p : pubs)
      if (auto e = nc::connect(at.host, at.port, "ferry-bench-pub", paced, p)) return e;

    uint32_t n_readers = reader_count(w);
    uint32_t consumers = std::max<uint32_t>(w.consumers_per_subscription, 1);
    std::vector<std::unique_ptr<nc::reader>> readers;
    std::vector<nc::conn_ptr> reader_conns;
    std::vector<nc::sub_ptr> subs;
    for (uint32_t i = 0; i < n_readers; ++i) {
      auto& r = *readers.emplace_back(std::make_unique<nc::reader>());
      r.m = &m;
      r.fl = &fl;
      r.index = i;
      r.shared = consumers > 1;
      std::string queue = "bench-" + std::to_string(i);
      for (uint32_t c = 0; c < consumers; ++c) {
        auto& conn = reader_conns.emplace_back();
        if (auto e = nc::connect(at.host, at.port, "ferry-bench-sub", paced, conn)) return e;
        natsSubscription* s = nullptr;
        const char* sj = subj[topic_of_reader(w, i)].c_str();
        natsStatus st = consumers > 1
                            ? natsConnection_QueueSubscribe(&s, conn.get(), sj, queue.c_str(),
                                                            nc::on_message, &r)
                            : natsConnection_Subscribe(&s, conn.get(), sj, nc::on_message, &r);
        if (st != NATS_OK) return nc::fail("subscribe", st);
        subs.emplace_back(s);
        natsSubscription_SetPendingLimits(s, 1 << 22, 1 << 30);
        // The server has the subscription once it answered the flush's PING.
        if (auto f = natsConnection_FlushTimeout(conn.get(), 5000); f != NATS_OK)
          return nc::fail("flush", f);
      }
    }

    m.start(steady::now());
    size_t next_pub = 0;
    natsConnection* pub = pubs[0].get();
    auto e = publish_loop(
        w, m, fl, 0,
        [&](uint64_t seq, const std::string& p) -> ferry::error {
          const char* sj = subj[seq % subj.size()].c_str();
          if (auto s = natsConnection_Publish(pub, sj, p.data(), static_cast<int>(p.size()));
              s != NATS_OK)
            return nc::fail("publish", s);
          return {};
        },
        [&](uint64_t n, steady::time_point intended) {
          m.confirmed(n, intended);  // the publish calls returned: all core NATS confirms
          next_pub = (next_pub + 1) % pubs.size();
          pub = pubs[next_pub].get();
        });
    for (auto& p : pubs)
      natsConnection_FlushTimeout(p.get(), 5000);
    drain(m, fl, drain_time);
    nc::close_subscriptions(subs);  // before the readers their handlers point to
    return e;
  }
};

// ---------------------------------------------------------------------------------------
// JetStream
class jetstream_driver final : public driver {
 public:
  // ---- driver ----
  std::string name() const override { return "jetstream"; }

  std::string unsupported(const workload& w) const override {
    if (w.idle_connections != 0)
      return "same server and connection handling as nats (see its connections row)";
    return {};
  }

  std::string equivalence(const workload& w) const override {
    if (w.idle_connections != 0) return "see nats";
    std::string confirm = "confirm = PubAck (js_PublishAsync)";
    if (w.catchup_bytes != 0)
      return "JetStream file stream (R1) written with " + std::to_string(w.catchup_bytes) +
             " bytes, then one ordered consumer from the first message, timed; " + confirm;
    if (w.kind == topic_kind::log) {
      std::string ferry_side = w.durable == durability::fsync_always
                                   ? "ferry fsyncs before each ack"
                               : w.durable == durability::fsync_interval
                                   ? "ferry fsyncs on its topic's interval"
                                   : "ferry does not fsync either (durability none)";
      return "JetStream file stream (R1), one subject per topic, " + confirm + ", " +
             std::to_string(w.subscriptions_per_topic) +
             " ordered consumer(s) from the first message; NOT fsynced per publish: "
             "nats-server 2.9 fsyncs its files every 2 min (sync_interval), so an acked "
             "record may be only in the page cache; " +
             ferry_side;
    }
    std::string subs = std::to_string(w.subscriptions_per_topic);
    if (w.consumer_acks)
      return "JetStream memory stream plays the queue (interest retention), " + subs +
             " durable push consumer(s) with explicit acks (one async +ACK per message), " +
             confirm;
    return "JetStream memory stream (limits retention, 1M messages kept), " + subs +
           " ordered push consumer(s) (no acks, flow control), " + confirm;
  }

  ferry::error run(const workload& w, const endpoint& at, measurement& m) override;

 private:
  // What the PubAck handler uses.
  struct pub_state {
    pub_state(measurement& mm, uint64_t window) : m(&mm), fl(mm, window) {}
    measurement* m;
    nc::flow fl;
  };
  static void on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr*, void* closure);
  static ferry::error make_stream(jsCtx* js, const workload& w);
  static ferry::error subscribe(jsCtx* js, const workload& w, uint32_t i, uint32_t consumer,
                                nc::reader& r, nc::sub_ptr& out);
};

// The PubAck (or its failure) of one js_PublishAsync, on cnats' reply-subscription thread.
void jetstream_driver::on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr*, void* closure) {
  auto* p = static_cast<pub_state*>(closure);
  if (pa != nullptr) {
    p->m->confirmed(1, nc::intended_of(*p->m, natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
  } else {
    p->m->publish_failed(1);
  }
  natsMsg_Destroy(msg);
  p->fl.confirmed_one();
}

// A fresh stream for the run (a leftover one of the same name is deleted first).
ferry::error jetstream_driver::make_stream(jsCtx* js, const workload& w) {
  js_DeleteStream(js, stream_name, nullptr, nullptr);
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  std::string all = std::string(subject_prefix) + "*";
  const char* subject_list[] = {all.c_str()};
  cfg.Name = stream_name;
  cfg.Subjects = subject_list;
  cfg.SubjectsLen = 1;
  cfg.Replicas = 1;
  if (w.kind == topic_kind::log) {
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
  } else {
    cfg.Storage = js_MemoryStorage;
    // With acks the stream is the queue; without, readers stay within the window of the
    // head, so keeping the last million bounds memory without losing anything.
    cfg.Retention = w.consumer_acks ? js_InterestPolicy : js_LimitsPolicy;
    if (!w.consumer_acks) cfg.MaxMsgs = std::max<int64_t>(1'000'000, 4 * int64_t{w.window});
    cfg.Discard = js_DiscardOld;
  }
  jsErrCode jerr = jsErrCode(0);
  jsStreamInfo* si = nullptr;
  if (auto s = js_AddStream(&si, js, &cfg, nullptr, &jerr); s != NATS_OK)
    return nc::fail("add stream", s, jerr);
  jsStreamInfo_Destroy(si);
  return {};
}

// Reader `i`'s consumer number `consumer` (several = a queue group on one durable).
ferry::error jetstream_driver::subscribe(jsCtx* js, const workload& w, uint32_t i,
                                         uint32_t consumer, nc::reader& r, nc::sub_ptr& out) {
  (void)consumer;
  bool acks = w.kind == topic_kind::memory && w.consumer_acks && w.catchup_bytes == 0;
  bool grouped = w.consumers_per_subscription > 1 && w.catchup_bytes == 0;
  std::string durable = "bench-" + std::to_string(i);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = stream_name;
  if (acks || grouped) {
    so.Config.Durable = durable.c_str();
    so.Config.DeliverPolicy = js_DeliverAll;
    so.Config.AckPolicy = acks ? js_AckExplicit : js_AckNone;
    so.Config.MaxAckPending = 2 * int64_t{std::max<uint32_t>(w.window, 1000)};
    so.ManualAck = acks;
    if (grouped) so.Queue = durable.c_str();
  } else {
    so.Ordered = true;  // ephemeral, in order, no acks; flow control and heartbeats
  }
  r.ack = acks;
  natsSubscription* s = nullptr;
  jsErrCode jerr = jsErrCode(0);
  std::string sj = subject_prefix + std::to_string(topic_of_reader(w, i));
  if (auto st = js_Subscribe(&s, js, sj.c_str(), nc::on_message, &r, nullptr, &so, &jerr);
      st != NATS_OK)
    return nc::fail("subscribe", st, jerr);
  out.reset(s);
  natsSubscription_SetPendingLimits(s, 1 << 22, 1 << 30);
  return {};
}

ferry::error jetstream_driver::run(const workload& w, const endpoint& at, measurement& m) {
  if (auto why = unsupported(w); !why.empty()) return not_supported(why);
  // On the heap: if PubAcks are still due at the end, it is leaked with the connection.
  auto st = std::make_unique<pub_state>(m, w.window);
  nc::flow& fl = st->fl;
  bool paced = w.producer_rate != 0;

  nc::conn_ptr pub_conn;
  if (auto e = nc::connect(at.host, at.port, "ferry-bench-pub", paced, pub_conn)) return e;
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.PublishAsync.AckHandler = on_pub_ack;
  jo.PublishAsync.AckHandlerClosure = st.get();
  // Our window bounds what is unconfirmed at max rate; open loop never waits for confirms.
  jo.PublishAsync.MaxPending = paced ? (1 << 22) : int64_t{w.window} + w.batch + 1;
  jsCtx* raw_js = nullptr;
  if (auto s = natsConnection_JetStream(&raw_js, pub_conn.get(), &jo); s != NATS_OK)
    return nc::fail("JetStream context", s);
  nc::js_ptr js(raw_js);
  if (auto e = make_stream(js.get(), w)) return e;

  uint32_t consumers =
      w.catchup_bytes != 0 ? 1 : std::max<uint32_t>(w.consumers_per_subscription, 1);
  std::vector<std::unique_ptr<nc::reader>> readers;
  std::vector<nc::conn_ptr> reader_conns;
  std::vector<nc::js_ptr> reader_js;
  std::vector<nc::sub_ptr> subs;
  auto attach_readers = [&]() -> ferry::error {
    for (uint32_t i = 0; i < reader_count(w); ++i) {
      auto& r = *readers.emplace_back(std::make_unique<nc::reader>());
      r.m = &m;
      r.fl = &fl;
      r.index = i;
      r.shared = consumers > 1;
      for (uint32_t c = 0; c < consumers; ++c) {
        auto& conn = reader_conns.emplace_back();
        if (auto e = nc::connect(at.host, at.port, "ferry-bench-sub", paced, conn)) return e;
        jsCtx* rj = nullptr;
        if (auto s = natsConnection_JetStream(&rj, conn.get(), nullptr); s != NATS_OK)
          return nc::fail("JetStream context", s);
        reader_js.emplace_back(rj);
        if (auto e = subscribe(rj, w, i, c, r, subs.emplace_back())) return e;
      }
    }
    return {};
  };
  auto subj = subjects(w);
  auto publish = [&](uint64_t seq, const std::string& p) -> ferry::error {
    fl.add_unconfirmed(1);
    const char* sj = subj[seq % subj.size()].c_str();
    if (auto s = js_PublishAsync(js.get(), sj, p.data(), static_cast<int>(p.size()), nullptr);
        s != NATS_OK) {
      fl.confirmed_one();
      m.publish_failed(1);
      return nc::fail("js publish", s);
    }
    return {};
  };
  auto no_after = [](uint64_t, steady::time_point) {};

  ferry::error e;
  if (w.catchup_bytes != 0) {
    // Write everything first (confirms only), then time one reader from the first message.
    m.start(steady::now());
    uint64_t total = (w.catchup_bytes + w.message_size - 1) / std::max<uint32_t>(w.message_size, 1);
    e = publish_loop(w, m, fl, total, publish, no_after);
    if (!e) {
      auto deadline = steady::now() + 60s;
      while (fl.unconfirmed() != 0 && steady::now() < deadline)
        std::this_thread::sleep_for(1ms);
      m.catchup_started(steady::now());
      e = attach_readers();
      auto done_by = steady::now() + catchup_limit;
      while (!e && !m.drained() && steady::now() < done_by)
        std::this_thread::sleep_for(200us);
      m.catchup_finished(steady::now());
    }
  } else if (!(e = attach_readers())) {
    m.start(steady::now());
    e = publish_loop(w, m, fl, 0, publish, no_after);
    drain(m, fl, drain_time);
  }
  // Teardown: no handler may run once `fl`, `ps` and the readers go.
  auto deadline = steady::now() + drain_time;
  while (fl.unconfirmed() != 0 && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  nc::close_subscriptions(subs);
  js_DeleteStream(js.get(), stream_name, nullptr, nullptr);
  if (fl.unconfirmed() != 0) {
    // PubAcks still due: leave the connection (and what its handler uses) to the process.
    (void)js.release();
    (void)pub_conn.release();
    (void)st.release();
    if (!e) e = {make_error_code(errc::timeout), "PubAcks outstanding at the end"};
  }
  return e;
}

}  // namespace

std::unique_ptr<driver> make_nats_driver() {
  return std::make_unique<nats_driver>();
}
std::unique_ptr<driver> make_jetstream_driver() {
  return std::make_unique<jetstream_driver>();
}

}  // namespace ferry::bench
