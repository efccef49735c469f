// The NATS drivers of ferry-bench, through cnats (libnats): "nats" (core NATS) and
// "jetstream". How ferry's workloads map onto them:
//
// nats (core): a topic is a subject; a subscription is a plain subscription on its own
//   connection (a queue group when it has several consumers). Core NATS is at most once:
//   there are no publish confirms, so a message counts as confirmed when
//   natsConnection_Publish returns (it sits in the client's buffer then), and no consumer
//   acks, so workloads with consumer acks and every log workload are unsupported.
//   connections-N opens N raw TCP connections that complete the NATS handshake.
// jetstream: a stream per topic; the PubAck of js_PublishAsync is the confirm, a
//   publishing connection per producer. Memory workloads use memory streams: with consumer
//   acks a stream plays the queue (interest retention: a message goes once every consumer
//   acked it; one durable pull consumer per subscription fetching batches, AckAll with one
//   +ACK per batch (explicit per-message acks when several consumers share it); without
//   acks each subscription is an ordered push consumer (no acks, flow control). Log
//   workloads use a file stream with one ordered consumer per reader from the first
//   message. nats-server 2.9 fsyncs JetStream files every 2 minutes (sync_interval; not
//   configurable before 2.10): a PubAck means the record reached the OS page cache, not the
//   disk.
//
// Threads: the publisher is the thread that calls run() (JetStream: driving every
// producer's connection in turn); cnats calls every push subscription's handler on that
// subscription's own delivery thread, PubAcks on one per connection; a pull consumer
// fetches on a thread of its own.
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
#include "bench/drivers/nats_common.h"
#include "bench/drivers/nats_idle.h"
#include "bench/drivers/nats_request.h"
#include "bench/idle_connections.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
namespace nc = ferry::bench::nats;

using namespace nats_shared;

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
    if (w.request_reply)
      return "natsConnection_Request (the reply on an inbox subject, one request outstanding "
             "per requester thread), the responders " +
             std::string(w.consumers_per_subscription > 1 ? "a queue group" : "a subscription") +
             " answering on the reply subject; at most once: no publish confirm exists";
    std::string subs = std::to_string(w.subscriptions_per_topic) +
                       (w.consumers_per_subscription > 1 ? " queue groups" : " subscriptions");
    return "core NATS subject per topic, " + subs +
           " (one connection each); at most once: no publish confirm exists" +
           (w.confirms ? ", a message counts as confirmed when natsConnection_Publish returns "
                         "(ferry: broker confirm)"
                       : " (the workload asks for none; ferry confirms every publish all the "
                         "same)");
  }

  // Every reader of `w`, each a subscription (a queue group of them when a subscription has
  // several consumers) on its own connection, known to the server when this returns.
  static ferry::error subscribe_readers(const workload& w, const endpoint& at, measurement& m,
                                        nc::flow& fl, const std::vector<std::string>& subj,
                                        std::vector<std::unique_ptr<nc::reader>>& readers,
                                        std::vector<nc::conn_ptr>& reader_conns,
                                        std::vector<nc::sub_ptr>& subs) {
    const bool paced = w.producer_rate != 0;
    const uint32_t consumers = std::max<uint32_t>(w.consumers_per_subscription, 1);
    for (uint32_t i = 0; i < reader_count(w); ++i) {
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
    return {};
  }

  ferry::error create_idle_topics(const workload&, const endpoint&) override {
    return not_supported("NATS core keeps no topics: see jetstream");
  }

  ferry::error run(const workload& w, const endpoint& at, measurement& m) override {
    if (auto why = unsupported(w); !why.empty()) return not_supported(why);
    if (w.idle_connections != 0) return run_idle(w, at, m);
    if (w.request_reply) return run_nats_requests(w, at, m);
    nc::flow fl(m, w);
    bool paced = w.producer_rate != 0;
    auto subj = subjects(w);

    std::vector<nc::conn_ptr> pubs(std::max<uint32_t>(w.producers_per_topic, 1));
    for (auto& p : pubs)
      if (auto e = nc::connect(at.host, at.port, "ferry-bench-pub", paced, p)) return e;

    std::vector<std::unique_ptr<nc::reader>> readers;
    std::vector<nc::conn_ptr> reader_conns;
    std::vector<nc::sub_ptr> subs;
    if (auto e = subscribe_readers(w, at, m, fl, subj, readers, reader_conns, subs)) return e;

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
          // The publish calls returned: all core NATS confirms, where the workload wants any.
          if (w.confirms) m.confirmed(n, intended);
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

}  // namespace

std::unique_ptr<driver> make_nats_driver() {
  return std::make_unique<nats_driver>();
}

}  // namespace ferry::bench
