// The JetStream driver of ferry-bench (see nats_driver.cpp for how workloads map onto
// NATS): one stream, a subject per topic, the PubAck of js_PublishAsync as the confirm.
#include <algorithm>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench/driver.h"
#include "bench/drivers/nats_client.h"
#include "bench/drivers/nats_common.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
using namespace nats_shared;

// ---------------------------------------------------------------------------------------
// JetStream
class jetstream_driver final : public driver {
 public:
  // ---- driver ----
  std::string name() const override { return "jetstream"; }

  std::string unsupported(const workload& w) const override {
    if (w.idle_connections != 0)
      return "same server and connection handling as nats (see its connections row)";
    if (w.shared) return "shared subscriptions on a log: not in this driver yet (issue 14)";
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
             " durable push consumer(s), AckAll with one +ACK per burst (at most 256; "
             "explicit acks per message for competing consumers), " +
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
  struct js_run;
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
    // One consumer: AckAll, acks batched (JetStream's guidance and `nats bench`); a queue
    // group's members hold different messages, so each is acked on its own.
    so.Config.AckPolicy = !acks ? js_AckNone : grouped ? js_AckExplicit : js_AckAll;
    so.Config.MaxAckPending = 2 * int64_t{std::max<uint32_t>(w.window, 1000)};
    so.ManualAck = acks;
    if (grouped) so.Queue = durable.c_str();
  } else {
    so.Ordered = true;  // ephemeral, in order, no acks; flow control and heartbeats
  }
  r.ack = acks;
  r.ack_all = acks && !grouped;
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

// One JetStream run: the publishing connection and context, and the readers with theirs.
struct jetstream_driver::js_run {
  const workload& w;
  const endpoint& at;
  measurement& m;
  // On the heap: if PubAcks are still due at the end, it is leaked with the connection.
  std::unique_ptr<pub_state> st;
  bool paced;
  nc::conn_ptr pub_conn;
  nc::js_ptr js;
  std::vector<std::string> subj;
  std::vector<std::unique_ptr<nc::reader>> readers;
  std::vector<nc::conn_ptr> reader_conns;
  std::vector<nc::js_ptr> reader_js;
  std::vector<nc::sub_ptr> subs;

  js_run(const workload& wl, const endpoint& e, measurement& mm)
      : w(wl),
        at(e),
        m(mm),
        st(std::make_unique<pub_state>(mm, wl.window)),
        paced(wl.producer_rate != 0),
        subj(subjects(wl)) {}

  ferry::error open() {
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
    js.reset(raw_js);
    return make_stream(js.get(), w);
  }

  ferry::error attach_readers() {
    uint32_t consumers =
        w.catchup_bytes != 0 ? 1 : std::max<uint32_t>(w.consumers_per_subscription, 1);
    for (uint32_t i = 0; i < reader_count(w); ++i) {
      auto& r = *readers.emplace_back(std::make_unique<nc::reader>());
      r.m = &m;
      r.fl = &st->fl;
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
  }

  ferry::error publish(uint64_t seq, const std::string& p) {
    st->fl.add_unconfirmed(1);
    const char* sj = subj[seq % subj.size()].c_str();
    if (auto s = js_PublishAsync(js.get(), sj, p.data(), static_cast<int>(p.size()), nullptr);
        s != NATS_OK) {
      st->fl.confirmed_one();
      m.publish_failed(1);
      return nc::fail("js publish", s);
    }
    return {};
  }

  ferry::error publish_all(uint64_t total) {
    return publish_loop(
        w, m, st->fl, total, [this](uint64_t seq, const std::string& p) { return publish(seq, p); },
        [](uint64_t, steady::time_point) {});
  }

  // Waits (bounded) until every publish is confirmed.
  void wait_confirmed(std::chrono::steady_clock::duration limit) {
    auto deadline = steady::now() + limit;
    while (st->fl.unconfirmed() != 0 && steady::now() < deadline)
      std::this_thread::sleep_for(1ms);
  }

  // Write everything first (confirms only), then time one reader from the first message.
  ferry::error catch_up() {
    m.start(steady::now());
    uint64_t total = (w.catchup_bytes + w.message_size - 1) / std::max<uint32_t>(w.message_size, 1);
    if (auto e = publish_all(total)) return e;
    wait_confirmed(60s);
    m.catchup_started(steady::now());
    auto e = attach_readers();
    auto done_by = steady::now() + catchup_limit;
    while (!e && !m.drained() && steady::now() < done_by)
      std::this_thread::sleep_for(200us);
    m.catchup_finished(steady::now());
    return e;
  }

  ferry::error live() {
    if (auto e = attach_readers()) return e;
    m.start(steady::now());
    auto e = publish_all(0);
    drain(m, st->fl, drain_time);
    return e;
  }

  // No handler may run once the flow, the pub state and the readers go.
  ferry::error close(ferry::error e) {
    wait_confirmed(drain_time);
    nc::close_subscriptions(subs);
    js_DeleteStream(js.get(), stream_name, nullptr, nullptr);
    if (st->fl.unconfirmed() != 0) {
      // PubAcks still due: leave the connection (and what its handler uses) to the process.
      (void)js.release();
      (void)pub_conn.release();
      (void)st.release();
      if (!e) e = {make_error_code(errc::timeout), "PubAcks outstanding at the end"};
    }
    return e;
  }
};

ferry::error jetstream_driver::run(const workload& w, const endpoint& at, measurement& m) {
  if (auto why = unsupported(w); !why.empty()) return not_supported(why);
  js_run r(w, at, m);
  if (auto e = r.open()) return e;
  return r.close(w.catchup_bytes != 0 ? r.catch_up() : r.live());
}

}  // namespace

std::unique_ptr<driver> make_jetstream_driver() {
  return std::make_unique<jetstream_driver>();
}

}  // namespace ferry::bench
