// The RabbitMQ driver of ferry-bench, through rabbitmq-c (AMQP 0-9-1).
//
// Server (bench/compare/servers.py starts it so; the figures assume it): RabbitMQ 3.10.8
// from Debian 12 on Erlang 25, one node on loopback, no plugins, defaults otherwise
// (guest/guest, vm_memory_high_watermark 0.4, quorum-queue WAL fsynced before confirms),
// a fresh mnesia dir per run, an open-files limit above the idle connections asked for.
// By hand (as root; D a temp dir, PORT below 32768, where no outgoing connection takes it):
//   mkdir -p $D/mnesia $D/log; echo '[].' > $D/enabled_plugins; chown -R rabbitmq $D
//   RABBITMQ_NODENAME=ferrybench@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1
//   RABBITMQ_NODE_PORT=$PORT RABBITMQ_MNESIA_BASE=$D/mnesia RABBITMQ_LOG_BASE=$D/log
//   RABBITMQ_ENABLED_PLUGINS_FILE=$D/enabled_plugins
//   su rabbitmq -s /bin/sh -c 'ulimit -n 20000; exec /usr/lib/rabbitmq/bin/rabbitmq-server'
//   (`su` resets the open-files limit to 1024: 10,000 connections need the ulimit);
//   ready when `rabbitmqctl -n ferrybench@localhost await_startup` succeeds (retry: it fails
//   until the node registered); --server-pid is beam.smp's:
//   rabbitmqctl -n ferrybench@localhost eval 'list_to_integer(os:getpid()).'
//   stop: rabbitmqctl -n ferrybench@localhost stop.
//
// How ferry's workloads map (equivalence() says it per workload):
// - A topic is a fanout exchange; a subscription is a queue bound to it (fan-out = several
//   queues). A topic with one queue is published to through the default exchange, straight
//   to that queue (as a RabbitMQ user would; the exchange costs a routing step). Memory topics:
//   classic non-durable queues, transient messages; ephemeral subscriptions are exclusive
//   auto-delete queues declared by their consumer. Consumers with acks use basic.qos(prefetch) and
//   ack every message, batched with multiple=true (at most 256 at once, and whenever no more input
//   is buffered); others consume with no-ack.
// - Log topics with fsync-always: a quorum queue per reader (Raft log fsynced before the
//   confirm), persistent messages; the reader consumes with qos and acks. Log topics without
//   fsync (and catch-up): a stream queue per topic, read from x-stream-offset=first by every
//   reader (streams need qos and acks: they are the credit).
// - Every publish is confirmed (confirm.select; basic.ack/nack, multiple or not).
// - Idle connections: AMQP connections after login (connection.open), no channel.
// Threads: rabbitmq-c connections are not thread-safe, so every producer and consumer is a
// thread with its own connection. Message i goes to topic i % topics through any producer.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <sys/socket.h>
#include <unistd.h>

#include "bench/driver.h"
#include "bench/drivers/rabbitmq_amqp.h"
#include "bench/drivers/rabbitmq_confirms.h"
#include "bench/drivers/rabbitmq_idle.h"
#include "bench/drivers/rabbitmq_request.h"
#include "bench/drivers/thread_run.h"
#include "proto/codec/errc.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
using steady_clock = std::chrono::steady_clock;
namespace rmq = ferry::bench::rabbitmq;

constexpr auto rpc_timeout = 30s;
constexpr auto teardown_timeout = 10s;  // per request: deleting what the run made
constexpr uint64_t max_ack_batch = 256;

ferry::error run_error(const std::string& why) {
  return {make_error_code(errc::internal), "rabbitmq: " + why};
}

enum class queue_kind { classic, quorum, stream };

queue_kind kind_of(const workload& w) {
  if (w.kind == topic_kind::memory) return queue_kind::classic;
  if (w.shared) return queue_kind::quorum;  // competing consumers, whatever the durability
  return w.durable == durability::fsync_always && w.catchup_bytes == 0 ? queue_kind::quorum
                                                                       : queue_kind::stream;
}

// Names and settings of one run's exchanges and queues.
struct topology {
  topology(const workload& w, size_t readers) : kind(kind_of(w)), topics(w.topics) {
    static std::atomic<uint32_t> runs{0};
    std::string base = "ferry-bench." + std::to_string(::getpid()) + "." +
                       std::to_string(runs.fetch_add(1)) + ".t";
    for (uint32_t t = 0; t < w.topics; ++t)
      exchanges.push_back(base + std::to_string(t));
    size_t per_topic = readers / std::max<uint32_t>(w.topics, 1);
    for (size_t r = 0; r < readers; ++r) {
      size_t t = r / std::max<size_t>(per_topic, 1);
      // A stream is read by all its readers; other queues are consumed away, one per reader.
      queues.push_back(kind == queue_kind::stream ? exchanges[t] + ".stream"
                                                  : exchanges[t] + ".s" + std::to_string(r));
      topic_of.push_back(static_cast<uint32_t>(t));
    }
    // A topic with one queue (one subscription, or a stream every reader shares) is published
    // to through the default exchange, straight to that queue, as a RabbitMQ user would;
    // a fan-out goes through the topic's fanout exchange.
    for (uint32_t t = 0; t < w.topics; ++t) {
      const bool one_queue = kind == queue_kind::stream || per_topic == 1;
      const size_t first = t * std::max<size_t>(per_topic, 1);
      direct.push_back(one_queue && first < queues.size() ? queues[first] : std::string());
    }
    acks = kind != queue_kind::classic || w.consumer_acks;
    exclusive = kind == queue_kind::classic && w.ephemeral && w.consumers_per_subscription == 1;
    // Competing consumers of a queue (a stream's readers each read all of it).
    consumers_per_reader = kind != queue_kind::stream ? w.consumers_per_subscription : 1;
    prefetch = static_cast<uint16_t>(std::clamp<uint32_t>(w.prefetch, 1, 65535));
  }

  queue_kind kind;
  uint32_t topics;
  std::vector<std::string> exchanges;  // per topic
  std::vector<std::string> direct;     // per topic: its only queue, or empty (fan-out)
  std::vector<std::string> queues;     // per reader (a stream's readers share it)
  std::vector<uint32_t> topic_of;      // per reader
  bool acks, exclusive;
  uint32_t consumers_per_reader;
  uint16_t prefetch;
};

// Declares queue `name` for `t` on `link` and binds it to `exchange`.
std::string declare_queue(rmq::amqp_link& link, const topology& t, const std::string& name,
                          const std::string& exchange) {
  auto c = link.get();
  auto ch = rmq::amqp_link::channel;
  rmq::one_arg type;
  if (t.kind == queue_kind::quorum) type = rmq::one_arg("x-queue-type", "quorum");
  if (t.kind == queue_kind::stream) type = rmq::one_arg("x-queue-type", "stream");
  bool durable = t.kind != queue_kind::classic;
  bool auto_delete = t.kind == queue_kind::classic && t.exclusive;
  amqp_queue_declare(c, ch, rmq::bytes(name), 0, durable, t.exclusive, auto_delete, type.table());
  if (auto e = link.check("queue.declare"); !e.empty()) return e;
  amqp_queue_bind(c, ch, rmq::bytes(name), rmq::bytes(exchange), amqp_empty_bytes,
                  amqp_empty_table);
  return link.check("queue.bind");
}

// One run of a workload with producers (thread_run has the threads and the phases).
class amqp_run final : public thread_run {
 public:
  amqp_run(const workload& w, const endpoint& at, measurement& m)
      : thread_run(w, m, {rpc_timeout}),
        at_(at),
        topo_(w, size_t{w.topics} * w.subscriptions_per_topic) {}

 private:
  // ---- thread_run ----
  std::string setup() override;
  void teardown() override;
  void produce() override;
  void read(size_t reader, uint32_t consumer) override;
  size_t readers() const override { return topo_.queues.size(); }
  uint32_t consumers_per_reader() const override { return topo_.consumers_per_reader; }

  bool publish(rmq::amqp_link& link, rmq::confirm_tracker& conf, std::string& payload, uint64_t seq,
               steady_clock::time_point intended);
  bool poll_confirms(rmq::amqp_link& link, rmq::confirm_tracker& conf,
                     std::chrono::microseconds wait);
  bool handle_unexpected_frame(rmq::amqp_link& link);
  std::string attach(rmq::amqp_link& link, size_t reader);

  const endpoint& at_;
  topology topo_;
};

// Exchanges, and the queues no consumer declares itself (all but exclusive ones).
std::string amqp_run::setup() {
  rmq::amqp_link link;
  if (auto e = link.open(at_.host, at_.port, rpc_timeout); !e.empty()) return e;
  bool durable = topo_.kind != queue_kind::classic;
  for (const auto& x : topo_.exchanges) {
    amqp_exchange_declare(link.get(), link.channel, rmq::bytes(x), amqp_cstring_bytes("fanout"), 0,
                          durable, 0, 0, amqp_empty_table);
    if (auto e = link.check("exchange.declare"); !e.empty()) return e;
  }
  if (topo_.exclusive) return {};
  for (size_t r = 0; r < topo_.queues.size(); ++r) {
    if (r > 0 && topo_.queues[r] == topo_.queues[r - 1]) continue;  // a shared stream
    auto e = declare_queue(link, topo_, topo_.queues[r], topo_.exchanges[topo_.topic_of[r]]);
    if (!e.empty()) return e;
  }
  return {};
}

// Deletes what setup() declared (exclusive queues went with their connections). Best effort.
void amqp_run::teardown() {
  rmq::amqp_link link;
  if (!link.open(at_.host, at_.port, teardown_timeout).empty()) return;
  if (!topo_.exclusive) {
    for (size_t r = 0; r < topo_.queues.size(); ++r) {
      if (r > 0 && topo_.queues[r] == topo_.queues[r - 1]) continue;
      amqp_queue_delete(link.get(), link.channel, rmq::bytes(topo_.queues[r]), 0, 0);
      if (!link.check("queue.delete").empty()) return;
    }
  }
  for (const auto& x : topo_.exchanges) {
    amqp_exchange_delete(link.get(), link.channel, rmq::bytes(x), 0);
    if (!link.check("exchange.delete").empty()) return;
  }
}

// ---- publishing ----

void amqp_run::produce() {
  rmq::amqp_link link;
  if (auto e = link.open(at_.host, at_.port, rpc_timeout); !e.empty())
    return fail("producer: " + e);
  track(amqp_get_sockfd(link.get()));
  if (w_.confirms) {
    amqp_confirm_select(link.get(), link.channel);
    if (auto e = link.check("confirm.select"); !e.empty()) return fail("producer: " + e);
  }
  rmq::confirm_tracker conf(m_, report_mu_);
  producer_started();
  wait_for_go();
  auto poll = [&](std::chrono::microseconds wait) { return poll_confirms(link, conf, wait); };
  std::string payload;
  if (w_.producer_rate == 0) {
    publish_max_rate([&] { return conf.unconfirmed(); }, poll,
                     [&](steady_clock::time_point now) {
                       for (uint32_t i = 0; i < w_.batch; ++i)
                         if (!publish(link, conf, payload, m_.next_sequence(), now)) return false;
                       return true;
                     });
  } else {
    publish_fixed_rate(poll, [&](uint64_t seq, steady_clock::time_point due) {
      return publish(link, conf, payload, seq, due);
    });
  }
  // The last confirms.
  auto until = steady_clock::now() + limits_.confirm;
  while (conf.unconfirmed() != 0 && !failed()) {
    if (steady_clock::now() >= until) {
      fail(std::to_string(conf.unconfirmed()) + " publishes not confirmed in time");
      break;
    }
    if (!poll_confirms(link, conf, 10ms)) break;
  }
}

// Publishes message `seq`, stamped `intended`, to its topic's exchange.
bool amqp_run::publish(rmq::amqp_link& link, rmq::confirm_tracker& conf, std::string& payload,
                       uint64_t seq, steady_clock::time_point intended) {
  m_.stamp(payload, seq, intended);
  amqp_basic_properties_t props{};
  props._flags = AMQP_BASIC_DELIVERY_MODE_FLAG;
  props.delivery_mode = topo_.kind == queue_kind::classic ? 1 : 2;  // transient : persistent
  const size_t t = seq % topo_.topics;
  const bool direct = !topo_.direct[t].empty();  // the default exchange, to the one queue
  int rc = amqp_basic_publish(
      link.get(), link.channel, direct ? amqp_empty_bytes : rmq::bytes(topo_.exchanges[t]),
      direct ? rmq::bytes(topo_.direct[t]) : amqp_empty_bytes, 0, 0, &props, rmq::bytes(payload));
  if (rc != AMQP_STATUS_OK) {
    fail(std::string("publish: ") + amqp_error_string2(rc));
    return false;
  }
  if (w_.confirms) conf.published(intended);
  return true;
}

// Handles the confirms the server sent, waiting up to `wait` for the first frame. False
// (and the run failed) when the channel or connection broke.
bool amqp_run::poll_confirms(rmq::amqp_link& link, rmq::confirm_tracker& conf,
                             std::chrono::microseconds wait) {
  timeval tv = rmq::to_timeval(wait);
  for (;;) {
    amqp_frame_t f;
    int rc = amqp_simple_wait_frame_noblock(link.get(), &f, &tv);
    if (rc == AMQP_STATUS_TIMEOUT) break;
    if (rc != AMQP_STATUS_OK) {
      fail(std::string("producer: ") + amqp_error_string2(rc));
      return false;
    }
    tv = {0, 0};  // after the first frame: only what is there already
    if (f.frame_type != AMQP_FRAME_METHOD) continue;
    const auto& method = f.payload.method;
    if (method.id == AMQP_BASIC_ACK_METHOD) {
      const auto* a = static_cast<const amqp_basic_ack_t*>(method.decoded);
      conf.settle(a->delivery_tag, a->multiple != 0, true);
    } else if (method.id == AMQP_BASIC_NACK_METHOD) {
      const auto* n = static_cast<const amqp_basic_nack_t*>(method.decoded);
      conf.settle(n->delivery_tag, n->multiple != 0, false);
    } else if (auto e = rmq::close_frame_error(f); !e.empty()) {
      fail("producer: " + e);
      return false;
    }
  }
  amqp_maybe_release_buffers(link.get());
  return true;
}

// ---- consuming ----

// Connects consumer `link` of `reader` to its queue; empty, or why not.
std::string amqp_run::attach(rmq::amqp_link& link, size_t reader) {
  if (auto e = link.open(at_.host, at_.port, rpc_timeout); !e.empty()) return e;
  auto c = link.get();
  const auto& queue = topo_.queues[reader];
  if (topo_.exclusive) {
    if (auto e = declare_queue(link, topo_, queue, topo_.exchanges[topo_.topic_of[reader]]);
        !e.empty())
      return e;
  }
  if (topo_.acks) {
    amqp_basic_qos(c, link.channel, 0, topo_.prefetch, 0);
    if (auto e = link.check("basic.qos"); !e.empty()) return e;
  }
  rmq::one_arg offset;
  if (topo_.kind == queue_kind::stream) offset = rmq::one_arg("x-stream-offset", "first");
  amqp_basic_consume(c, link.channel, rmq::bytes(queue), amqp_empty_bytes, 0, !topo_.acks, 0,
                     offset.table());
  return link.check("basic.consume");
}

void amqp_run::read(size_t reader, uint32_t) {
  auto link = std::make_unique<rmq::amqp_link>();
  // After a restart a stream comes back a moment after the node reports it started (404
  // "home node ... is down or inaccessible", 406 "does not have a replica on the local
  // node"): the reader tries again meanwhile, for up to a minute, and the catch-up read,
  // timed from before it connects, includes the wait. (With 10,000 durable classic queues
  // beside it, the stream was still refused 5 minutes after a restart.)
  auto until = steady_clock::now() + 60s;
  std::string e;
  while (!(e = attach(*link, reader)).empty() && catching_up() && w_.restart &&
         steady_clock::now() < until && !failed()) {
    link = std::make_unique<rmq::amqp_link>();
    std::this_thread::sleep_for(100ms);
  }
  if (!e.empty() && w_.restart && catching_up())
    return fail("consumer: still refused 60 s after the restart: " + e);
  if (!e.empty()) return fail("consumer: " + e);
  auto c = link->get();
  track(amqp_get_sockfd(c));
  reader_started();

  const uint64_t ack_batch = std::min<uint64_t>(max_ack_batch, std::max(1, topo_.prefetch / 2));
  uint64_t unacked = 0, last_tag = 0;
  while (!stop_reading() && !failed()) {
    amqp_maybe_release_buffers(c);
    amqp_envelope_t env;
    timeval tv = rmq::to_timeval(50ms);
    auto r = amqp_consume_message(c, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) {
      deliver(reader, std::string_view(static_cast<const char*>(env.message.body.bytes),
                                       env.message.body.len));
      last_tag = env.delivery_tag;
      ++unacked;
      amqp_destroy_envelope(&env);
    } else if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION &&
               r.library_error == AMQP_STATUS_UNEXPECTED_STATE) {
      if (!handle_unexpected_frame(*link)) return;
    } else if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION ||
               r.library_error != AMQP_STATUS_TIMEOUT) {
      return fail("consumer: " + rmq::reply_error(r));
    }
    // Acks: every message, batched (multiple=true) while more input is already buffered.
    bool more = amqp_data_in_buffer(c) || amqp_frames_enqueued(c);
    if (topo_.acks && unacked != 0 && (unacked >= ack_batch || !more)) {
      int rc = amqp_basic_ack(c, link->channel, last_tag, 1);
      if (rc != AMQP_STATUS_OK) return fail(std::string("ack: ") + amqp_error_string2(rc));
      unacked = 0;
    }
  }
}

// A frame other than a delivery arrived on a consumer: a close (an error), or something
// harmless. False when the run failed.
bool amqp_run::handle_unexpected_frame(rmq::amqp_link& link) {
  amqp_frame_t f;
  int rc = amqp_simple_wait_frame(link.get(), &f);
  if (rc != AMQP_STATUS_OK) {
    fail(std::string("consumer: ") + amqp_error_string2(rc));
    return false;
  }
  if (auto e = rmq::close_frame_error(f); !e.empty()) {
    fail("consumer: " + e);
    return false;
  }
  if (f.frame_type == AMQP_FRAME_METHOD && f.payload.method.id == AMQP_BASIC_CANCEL_METHOD) {
    fail("consumer: cancelled by the server");
    return false;
  }
  return true;
}

// ---- the driver ----

class rabbitmq_driver final : public driver {
 public:
  // ---- driver ----
  std::string name() const override { return "rabbitmq"; }
  std::string unsupported(const workload& w) const override;
  std::string equivalence(const workload& w) const override;
  ferry::error run(const workload& w, const endpoint& at, measurement& m) override;
  // Durable classic queues: a stream queue costs the node ~180 KB (measured), and 10,000
  // of them left it unable to take connections; nobody keeps 10,000 idle streams.
  ferry::error create_idle_topics(const workload& w, const endpoint& at) override {
    return rmq::create_idle_queues(at, w.idle_topics, "classic");
  }
};

std::string rabbitmq_driver::unsupported(const workload& w) const {
  if (w.group_churn)
    return "RabbitMQ has no consumer groups that assign partitions (consumers of a queue "
           "compete; nothing to rebalance)";
  // A shared subscription is one queue of competing consumers: ferry's partitions are how
  // it spreads the work, not something its users read.
  if (w.kind == topic_kind::log && w.partitions_per_topic > 1 && !w.shared)
    return "RabbitMQ 3.10 has no partitioned queues (super streams arrive in 3.11)";
  return {};
}

std::string rabbitmq_driver::equivalence(const workload& w) const {
  if (w.idle_connections != 0 && w.producers_per_topic == 0)
    return "idle AMQP connections after login (connection.open, heartbeats off), no channel";
  if (w.request_reply)
    return "direct reply-to (RabbitMQ's RPC: the requester consumes amq.rabbitmq.reply-to, "
           "no-ack), requests through the default exchange to a classic non-durable queue, " +
           std::string(w.consumers_per_subscription > 1 ? "competing no-ack responders"
                                                        : "a no-ack responder") +
           "; no publisher confirms (ferry confirms every publish all the same)";
  std::string qos = "basic.qos(" + std::to_string(std::clamp<uint32_t>(w.prefetch, 1, 65535)) + ")";
  std::string s;
  switch (kind_of(w)) {
    case queue_kind::classic:
      s = w.subscriptions_per_topic == 1
              ? "default exchange to a classic non-durable queue per subscription"
              : "fanout exchange, a classic non-durable queue per subscription";
      if (w.ephemeral)
        s.append(w.consumers_per_subscription == 1 ? " (exclusive, auto-delete)"
                                                   : " (shared by its consumers, deleted after)");
      s.append(w.confirms ? ", transient messages, publisher confirms; "
                          : ", transient messages, no publisher confirms (the workload asks "
                            "for none; ferry confirms every publish all the same); ");
      s.append(w.consumer_acks ? "manual acks with " + qos +
                                     ", every message, batched with multiple=true (<= 256)"
                               : std::string("no-ack consumers"));
      if (w.catchup_bytes != 0)
        s.append(
            "; the backlog is published into the queue before its consumer starts, timed "
            "from before the consumer connects until every message arrived");
      return s;
    case queue_kind::quorum:
      if (w.shared)
        return "a quorum queue plays the shared subscription (1 node; Raft WAL fsynced before "
               "the confirm; one queue, where ferry spreads the subscription over " +
               std::to_string(w.partitions_per_topic) +
               " partitions), persistent messages, publisher confirms; " +
               std::to_string(w.consumers_per_subscription) + " competing consumer(s) with " + qos +
               ", acks batched with multiple=true (RabbitMQ stores acks lazily; ferry " +
               "stores the delivery state before each SettleOk)";
      return "quorum queue per reader (1 node; Raft WAL fsynced before the confirm), persistent "
             "messages, publisher confirms; reader: consumer with " +
             qos + ", acks batched with multiple=true";
    case queue_kind::stream:
      s = "stream queue (x-queue-type=stream; never fsyncs";
      if (w.durable != durability::none) s.append(", weaker than ferry's setting");
      s.append("), publisher confirms; readers: AMQP consumers from x-stream-offset=first, ");
      s.append(qos).append(", acks as credit");
      if (w.catchup_bytes != 0)
        s.append("; timed from before the consumer connects until every record arrived");
      return s;
  }
  return s;
}

ferry::error rabbitmq_driver::run(const workload& w, const endpoint& at, measurement& m) {
  rmq::idle_links idle;  // kept open while the load runs, if any
  if (w.idle_connections != 0) {
    if (auto e = rmq::run_idle(w, at, m, idle)) return e;
  }
  if (w.producers_per_topic == 0) return {};
  if (w.request_reply) return run_rabbitmq_requests(w, at, m);
  amqp_run r(w, at, m);
  auto e = r.execute();
  return e.empty() ? ferry::error{} : run_error(e);
}

}  // namespace

std::unique_ptr<driver> make_rabbitmq_driver() {
  return std::make_unique<rabbitmq_driver>();
}

}  // namespace ferry::bench
