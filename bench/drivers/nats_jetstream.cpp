// The JetStream driver of ferry-bench (see nats_driver.cpp for how workloads map onto
// NATS): a stream per topic (its one subject), the PubAck of js_PublishAsync as the confirm.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/broker_stats.h"
#include "bench/driver.h"
#include "bench/drivers/nats_client.h"
#include "bench/drivers/nats_common.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
using namespace nats_shared;

// Whether reader subscriptions of `w` are pull consumers that ack (else push consumers).
// Each where it is faster, measured in one run (docs/BENCHMARKS.md): pull with batched
// fetch at max rate (+20% with one consumer), push at a fixed rate (pull adds about 0.6 ms
// to p99 at 5,000 msg/s). Only a lone consumer pulls: with 8 or 16 pullers on one durable,
// libnats 3.4.1's Fetch wrote past its batch array (messages of an expired request
// arriving in the next one; valgrind, then a crash), so competing consumers stay a push
// queue group (pull measured 2.1x faster with four, before the crash showed).
bool pulls(const workload& w) {
  return (w.kind == topic_kind::memory || w.shared) && w.consumer_acks && w.producer_rate == 0 &&
         (w.consumers_per_subscription == 1 || w.catchup_bytes != 0);
}

// ---------------------------------------------------------------------------------------
// JetStream
class jetstream_driver final : public driver {
 public:
  // ---- driver ----
  std::string name() const override { return "jetstream"; }

  std::string unsupported(const workload& w) const override {
    if (w.idle_connections != 0)
      return "same server and connection handling as nats (see its connections row)";
    if (w.group_churn)
      return "JetStream consumers assign no partitions (the clients of a consumer compete for "
             "messages; nothing to rebalance)";
    if (w.request_reply)
      return "request/reply is core NATS's (see nats); JetStream adds storage, not replies";
    return {};
  }

  std::string equivalence(const workload& w) const override {
    if (w.idle_connections != 0) return "see nats";
    std::string confirm = w.confirms ? "confirm = PubAck (js_PublishAsync)"
                                     : "no PubAck (a plain publish into the stream's subject; "
                                       "ferry confirms every publish all the same)";
    if (w.catchup_bytes != 0 && w.kind == topic_kind::memory)
      return "JetStream memory stream (interest retention) written with " +
             std::to_string(w.catchup_bytes) +
             " bytes into a durable pull consumer made first, which then fetches (batches of " +
             std::to_string(w.batch) + ", AckAll per batch) until it has everything, timed; " +
             confirm;
    if (w.catchup_bytes != 0)
      return "JetStream file stream (R1) written with " + std::to_string(w.catchup_bytes) +
             " bytes, then one ordered consumer from the first message, timed; " + confirm;
    if (w.shared)
      return "JetStream file stream (R1) per topic (one stream where ferry has " +
             std::to_string(w.partitions_per_topic) + " partitions), a durable " +
             (pulls(w) ? "pull consumer fetching batches, AckAll per batch"
                       : "push consumer shared by " + std::to_string(w.consumers_per_subscription) +
                             " consumers as a queue group, explicit acks") +
             " as the shared subscription, " + confirm +
             "; NOT fsynced per publish or ack (sync_interval 2 min), ferry fsyncs before each "
             "publish ack and stores the delivery state before each SettleOk";
    if (w.kind == topic_kind::log) {
      std::string ferry_side = w.durable == durability::fsync_always
                                   ? "ferry fsyncs before each ack"
                               : w.durable == durability::fsync_interval
                                   ? "ferry fsyncs on its topic's interval"
                                   : "ferry does not fsync either (durability none)";
      return "JetStream file stream (R1) per topic, " + confirm + ", " +
             std::to_string(w.subscriptions_per_topic) +
             " ordered consumer(s) from the first message; NOT fsynced per publish: "
             "nats-server 2.9 fsyncs its files every 2 min (sync_interval), so an acked "
             "record may be only in the page cache; " +
             ferry_side;
    }
    std::string subs = std::to_string(w.subscriptions_per_topic);
    if (w.consumer_acks)
      return "JetStream memory stream plays the queue (interest retention), " + subs +
             (pulls(w) ? " durable pull consumer(s) fetching batches of up to " +
                             std::to_string(w.batch) +
                             " (as `nats bench`), AckAll with one +ACK per batch"
              : w.consumers_per_subscription > 1
                  ? " durable push consumer(s), each shared by " +
                        std::to_string(w.consumers_per_subscription) +
                        " competing consumers as a queue group (libnats 3.4.1's Fetch "
                        "breaks with 8 or more pullers), explicit acks per message"
                  : std::string(" durable push consumer(s) (faster than pull at a fixed "
                                "rate), AckAll with one +ACK per burst (at most 256)")) +
             ", " + confirm;
    return "JetStream memory stream (limits retention, 1M messages kept), " + subs +
           " ordered push consumer(s) (no acks, flow control), " + confirm;
  }

  ferry::error run(const workload& w, const endpoint& at, measurement& m) override;
  // File streams (log workloads), added one after the other.
  ferry::error create_idle_topics(const workload& w, const endpoint& at) override {
    // A file stream holds two files open: past the server's limit it cannot create more.
    if (uint64_t limit = open_files_limit(at.server_pid);
        limit != 0 && 2 * uint64_t{w.idle_topics} + 256 > limit)
      return {make_error_code(errc::internal),
              "a JetStream file stream keeps 2 files open: " + std::to_string(w.idle_topics) +
                  " streams need more than nats-server's open-files limit (" +
                  std::to_string(limit) + ")"};
    nc::conn_ptr conn;
    if (auto e = nc::connect(at.host, at.port, "ferry-bench-idle", false, conn)) return e;
    jsCtx* raw = nullptr;
    if (auto s = natsConnection_JetStream(&raw, conn.get(), nullptr); s != NATS_OK)
      return nc::fail("jetstream context", s);
    nc::js_ptr js(raw);
    const std::string id = std::to_string(::getpid()) + "-";
    for (uint32_t i = 0; i < w.idle_topics; ++i)
      if (auto e = add_stream(js.get(), w, "idle-" + id + std::to_string(i),
                              std::string(subject_prefix) + "idle." + id + std::to_string(i)))
        return e;
    return {};
  }

 private:
  // What the PubAck handler uses.
  struct pub_state {
    pub_state(measurement& mm, const workload& w, bool several)
        : m(&mm), fl(mm, w), shared(several) {}
    measurement* m;
    nc::flow fl;
    bool shared;    // several publishing connections: their PubAcks come on several threads
    std::mutex mu;  // then serializes the measurement's confirming side
  };
  static void on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr*, void* closure);
  static ferry::error make_stream(jsCtx* js, const workload& w, uint32_t topic);
  static ferry::error add_stream(jsCtx* js, const workload& w, const std::string& name,
                                 const std::string& subject);
  static ferry::error subscribe(jsCtx* js, const workload& w, uint32_t i, uint32_t consumer,
                                nc::reader& r, nc::sub_ptr& out);
  struct js_run;
};

// The PubAck (or its failure) of one js_PublishAsync, on cnats' reply-subscription thread.
void jetstream_driver::on_pub_ack(jsCtx*, natsMsg* msg, jsPubAck* pa, jsPubAckErr*, void* closure) {
  auto* p = static_cast<pub_state*>(closure);
  {
    std::unique_lock lock(p->mu, std::defer_lock);
    if (p->shared) lock.lock();
    if (pa != nullptr) {
      p->m->confirmed(1, nc::intended_of(*p->m, natsMsg_GetData(msg), natsMsg_GetDataLength(msg)));
    } else {
      p->m->publish_failed(1);
    }
  }
  natsMsg_Destroy(msg);
  p->fl.confirmed_one();
}

// Topic `topic`'s fresh stream for the run (a leftover one of the same name is deleted
// first).
ferry::error jetstream_driver::make_stream(jsCtx* js, const workload& w, uint32_t topic) {
  std::string name = stream_name(topic);
  js_DeleteStream(js, name.c_str(), nullptr, nullptr);
  return add_stream(js, w, name, subject_prefix + std::to_string(topic));
}

// A stream named `name` on `subject`, as `w`'s topics are.
ferry::error jetstream_driver::add_stream(jsCtx* js, const workload& w, const std::string& name,
                                          const std::string& subject) {
  jsStreamConfig cfg;
  jsStreamConfig_Init(&cfg);
  const char* subject_list[] = {subject.c_str()};
  cfg.Name = name.c_str();
  cfg.Subjects = subject_list;
  cfg.SubjectsLen = 1;
  cfg.Replicas = 1;
  if (w.kind == topic_kind::log) {
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
  } else {
    cfg.Storage = js_MemoryStorage;
    // With acks the stream is the queue; without, readers stay within the window of the
    // head, so keeping the last million (over all topics) bounds memory without losing
    // anything.
    cfg.Retention = w.consumer_acks ? js_InterestPolicy : js_LimitsPolicy;
    if (!w.consumer_acks)
      cfg.MaxMsgs = std::max<int64_t>(1'000'000, 4 * int64_t{w.window}) / std::max(w.topics, 1u);
    cfg.Discard = js_DiscardOld;
  }
  jsErrCode jerr = jsErrCode(0);
  jsStreamInfo* si = nullptr;
  if (auto s = js_AddStream(&si, js, &cfg, nullptr, &jerr); s != NATS_OK)
    return nc::fail("add stream", s, jerr);
  jsStreamInfo_Destroy(si);
  return {};
}

// Reader `i`'s consumer number `consumer`: a lone pull consumer on the reader's durable, or
// a push consumer (several: a queue group).
ferry::error jetstream_driver::subscribe(jsCtx* js, const workload& w, uint32_t i,
                                         uint32_t consumer, nc::reader& r, nc::sub_ptr& out) {
  (void)consumer;
  const bool pull = pulls(w);
  bool acks = (w.kind == topic_kind::memory || w.shared) && w.consumer_acks;
  bool grouped = w.consumers_per_subscription > 1 && w.catchup_bytes == 0;
  std::string durable = "bench-" + std::to_string(i);
  jsSubOptions so;
  jsSubOptions_Init(&so);
  std::string stream = stream_name(topic_of_reader(w, i));
  so.Stream = stream.c_str();
  if (acks || grouped) {
    so.Config.Durable = durable.c_str();
    so.Config.DeliverPolicy = js_DeliverAll;
    // One consumer: AckAll, one ack per fetched batch (JetStream's guidance and `nats
    // bench`); consumers sharing a durable hold different messages, so each is acked.
    so.Config.AckPolicy = !acks ? js_AckNone : grouped ? js_AckExplicit : js_AckAll;
    so.Config.MaxAckPending = 2 * int64_t{std::max<uint32_t>(w.window, 1000)};
    so.ManualAck = acks;
    if (grouped) so.Queue = durable.c_str();  // push (pulls() is false): a queue group
  } else {
    so.Ordered = true;  // ephemeral, in order, no acks; flow control and heartbeats
  }
  r.ack = acks;
  r.ack_all = acks && !grouped;
  natsSubscription* s = nullptr;
  jsErrCode jerr = jsErrCode(0);
  std::string sj = subject_prefix + std::to_string(topic_of_reader(w, i));
  natsStatus st = pull ? js_PullSubscribe(&s, js, sj.c_str(), durable.c_str(), nullptr, &so, &jerr)
                       : js_Subscribe(&s, js, sj.c_str(), nc::on_message, &r, nullptr, &so, &jerr);
  if (st != NATS_OK) return nc::fail("subscribe", st, jerr);
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
  // A publishing connection and context per producer (producers_per_topic of each topic),
  // all driven from the calling thread in turn, as the ferry driver drives its clients.
  std::vector<nc::conn_ptr> pub_conns;
  std::vector<nc::js_ptr> pub_js;
  std::vector<std::string> subj;
  std::vector<std::unique_ptr<nc::reader>> readers;
  std::vector<nc::conn_ptr> reader_conns;
  std::vector<nc::js_ptr> reader_js;
  std::vector<nc::sub_ptr> subs;
  // Pull consumers: a thread each, fetching batches until stop_pulling().
  std::vector<std::pair<natsSubscription*, nc::reader*>> pulled;
  std::vector<std::thread> pullers;
  std::atomic<bool> stop_pull{false};
  std::mutex pull_mu;
  ferry::error pull_error;  // the first failed fetch

  js_run(const workload& wl, const endpoint& e, measurement& mm)
      : w(wl),
        at(e),
        m(mm),
        st(std::make_unique<pub_state>(mm, wl, producers(wl) > 1)),
        paced(wl.producer_rate != 0),
        subj(subjects(wl)) {}

  static uint32_t producers(const workload& wl) {
    return std::max<uint32_t>(wl.topics, 1) * std::max<uint32_t>(wl.producers_per_topic, 1);
  }

  ferry::error open() {
    const uint32_t n = producers(w);
    jsOptions jo;
    jsOptions_Init(&jo);
    jo.PublishAsync.AckHandler = on_pub_ack;
    jo.PublishAsync.AckHandlerClosure = st.get();
    // Our window bounds what is unconfirmed at max rate; open loop never waits for confirms.
    jo.PublishAsync.MaxPending = paced ? (1 << 22) : int64_t{w.window} / n + w.batch + 1;
    for (uint32_t k = 0; k < n; ++k) {
      auto& conn = pub_conns.emplace_back();
      if (auto e = nc::connect(at.host, at.port, "ferry-bench-pub", paced, conn)) return e;
      jsCtx* raw_js = nullptr;
      if (auto s = natsConnection_JetStream(&raw_js, conn.get(), &jo); s != NATS_OK)
        return nc::fail("JetStream context", s);
      pub_js.emplace_back(raw_js);
    }
    for (uint32_t t = 0; t < std::max<uint32_t>(w.topics, 1); ++t)
      if (auto e = make_stream(pub_js.front().get(), w, t)) return e;
    return {};
  }

  // With `fetch` false, pull consumers are made but fetch only after start_pulling() (a
  // memory backlog: the durable consumer must exist before the writing, or an interest
  // stream keeps nothing).
  ferry::error attach_readers(bool fetch = true) {
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
        if (pulls(w)) pulled.emplace_back(subs.back().get(), &r);
      }
    }
    if (fetch) start_pulling();
    return {};
  }

  void start_pulling() {
    for (auto [s, r] : pulled)
      pullers.emplace_back([this, s = s, r = r] { pull(s, *r); });
  }

  // A pull consumer's thread: fetches up to a batch (--batch, like the publishers'), waiting
  // at most 100 ms (live workloads) or 2 s (a catch-up or backlog, where every message is
  // stored before the first fetch), until stopped. With 100 ms, draining a backlog made
  // libnats 3.4.1 corrupt the heap inside Fetch in every run ("double free or corruption"
  // freeing the list it returned); with 2 s it did not in three runs. A fetch returns as
  // soon as its batch is full, or with what is there once the server says there is no more
  // (libnats asks no-wait first), so the longer wait adds nothing while messages are stored.
  void pull(natsSubscription* s, nc::reader& r) {
    const int batch = static_cast<int>(std::max<uint32_t>(w.batch, 1));
    const int64_t wait_ms = w.catchup_bytes != 0 ? 2000 : 100;
    while (!stop_pull.load(std::memory_order_relaxed)) {
      natsMsgList list{};
      jsErrCode jerr = jsErrCode(0);
      natsStatus status = natsSubscription_Fetch(&list, s, batch, wait_ms, &jerr);
      if (status == NATS_TIMEOUT) continue;
      if (status != NATS_OK) {
        std::lock_guard lock(pull_mu);
        if (!pull_error && !stop_pull) pull_error = nc::fail("fetch", status, jerr);
        return;
      }
      nc::on_batch(r, list);
      natsMsgList_Destroy(&list);
    }
  }

  void stop_pulling() {
    stop_pull = true;
    for (auto& t : pullers)
      t.join();
    pullers.clear();
  }

  ferry::error publish(uint64_t seq, const std::string& p) {
    const size_t topic = seq % subj.size();
    const uint32_t per_topic = std::max<uint32_t>(w.producers_per_topic, 1);
    const size_t k = topic * per_topic + (seq / subj.size()) % per_topic;  // in turn
    if (!w.confirms) {  // a plain publish into the stream's subject: no PubAck
      if (auto s = natsConnection_Publish(pub_conns[k].get(), subj[topic].c_str(), p.data(),
                                          static_cast<int>(p.size()));
          s != NATS_OK)
        return nc::fail("publish", s);
      return {};
    }
    st->fl.add_unconfirmed(1);
    jsCtx* js = pub_js[k].get();
    if (auto s =
            js_PublishAsync(js, subj[topic].c_str(), p.data(), static_cast<int>(p.size()), nullptr);
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

  // Write everything first (confirms only), then time one reader from the first message
  // (a memory backlog: its durable consumer is made first and fetches after the writing).
  ferry::error catch_up() {
    const bool backlog = w.kind == topic_kind::memory;
    if (backlog)
      if (auto e = attach_readers(false)) return e;
    m.start(steady::now());
    uint64_t total = (w.catchup_bytes + w.message_size - 1) / std::max<uint32_t>(w.message_size, 1);
    if (auto e = publish_all(total)) return e;
    wait_confirmed(60s);
    m.begin_catchup();
    ferry::error e;
    if (backlog) {
      start_pulling();
    } else {
      e = attach_readers();
    }
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
    for (auto& c : pub_conns)
      if (!w.confirms) natsConnection_FlushTimeout(c.get(), 5000);
    drain(m, st->fl, drain_time);
    return e;
  }

  // No handler may run once the flow, the pub state and the readers go.
  ferry::error close(ferry::error e) {
    wait_confirmed(drain_time);
    stop_pulling();
    if (!e) e = pull_error;
    nc::close_subscriptions(subs);
    for (uint32_t t = 0; t < std::max<uint32_t>(w.topics, 1); ++t)
      js_DeleteStream(pub_js.front().get(), stream_name(t).c_str(), nullptr, nullptr);
    if (st->fl.unconfirmed() != 0) {
      // PubAcks still due: leave the connections (and what their handler uses) to the process.
      for (auto& j : pub_js)
        (void)j.release();
      for (auto& c : pub_conns)
        (void)c.release();
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
