// The Redis drivers of ferry-bench, through hiredis (synchronous API, pipelined):
// "redis-pubsub" (PUBLISH/SUBSCRIBE) and "redis-streams" (XADD, XREADGROUP/XACK, XREAD).
//
// Server (bench/compare/servers.py starts it so; the figures assume it): redis-server 7.0.15
// from Debian 12, on loopback, no snapshots, AOF on and fsynced before every reply:
//   ulimit -n 20000; redis-server --bind 127.0.0.1 --port $PORT --dir $D --save ''
//     --appendonly yes --appendfsync always --maxclients 15000 --daemonize no
// (--maxclients: the default 10,000 is just connections-10k's count, with no room for any
// other client.) --server-pid: the redis-server process. redis-streams sets the AOF per
// workload for the length of the run (CONFIG SET, then back): memory workloads run with
// appendonly no, log workloads with appendonly yes and appendfsync always (fsync-always),
// everysec (fsync-interval) or no (durability none: the OS decides, like ferry's fsync
// never). PUBLISH never reaches the AOF, so redis-pubsub leaves the configuration alone.
//
// How ferry's workloads map (equivalence() says it per workload):
// - redis-pubsub: a topic is a channel; each subscription is a SUBSCRIBE on its own
//   connection. At most once: no acks, no durable subscriptions (a slow or absent subscriber
//   loses messages), so workloads with consumer acks and log workloads are unsupported. The
//   PUBLISH reply (the number of receivers) counts as the confirm.
// - redis-streams: a topic is a stream. Memory workloads with acks: the stream plays the
//   queue, a consumer group per subscription (its consumers share it), XREADGROUP COUNT
//   prefetch, every message acked by one XACK per read batch, sent with the next read; XADD
//   trims with MAXLEN ~ (far more than the window can hold unread). Memory workloads
//   without acks are left to redis-pubsub (unsupported here). Log workloads: XADD, readers
//   XREAD from the start in COUNT-sized batches; catch-up reads from 0 once all is written.
//   The XADD reply is the confirm.
// - Idle connections (both): raw TCP connections that each got +PONG for a PING, so the
//   server has accepted and served them; nothing else.
// Threads: every producer and reader is a thread with its own connection; producers append
// a batch of commands, write it in one go and collect replies without blocking, so publishing
// is pipelined, never a round trip per message. Message i goes to topic i % topics.
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
#include "bench/drivers/redis_aof.h"
#include "bench/drivers/redis_idle.h"
#include "bench/drivers/redis_link.h"
#include "bench/drivers/redis_replies.h"
#include "bench/drivers/redis_request.h"
#include "bench/drivers/thread_run.h"
#include "proto/codec/errc.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
using steady_clock = std::chrono::steady_clock;
namespace rds = ferry::bench::redis;

constexpr auto io_timeout = 30s;
constexpr auto teardown_timeout = 10s;       // per request: deleting what the run made
constexpr const char* read_block_ms = "50";  // XREAD(GROUP) BLOCK: how often readers look up

ferry::error run_error(const std::string& why) {
  return {make_error_code(errc::internal), "redis: " + why};
}

enum class mode { pubsub, streams };

// What a run creates and how it reads: names and settings.
struct layout {
  layout(mode how, const workload& w, size_t readers)
      : md(how), log(w.kind == topic_kind::log && !w.shared), topics(w.topics) {
    static std::atomic<uint32_t> runs{0};
    std::string base = "ferry-bench:" + std::to_string(::getpid()) + ":" +
                       std::to_string(runs.fetch_add(1)) + ":t";
    for (uint32_t t = 0; t < w.topics; ++t)
      keys.push_back(base + std::to_string(t));
    size_t per_topic = std::max<size_t>(1, readers / std::max<uint32_t>(1, w.topics));
    for (size_t r = 0; r < readers; ++r) {
      topic_of.push_back(static_cast<uint32_t>(r / per_topic));
      groups.push_back("s" + std::to_string(r % per_topic));
    }
    consumers_per_reader = md == mode::streams && !log ? w.consumers_per_subscription : 1;
    count = std::to_string(std::clamp<uint32_t>(w.prefetch, 1, 10000));
    // Memory streams are trimmed; never below what max-rate publishers keep unread, nor
    // below 10 s of a fixed rate; a backlog is kept whole.
    if (md == mode::streams && w.kind == topic_kind::memory && w.catchup_bytes == 0)
      maxlen = std::to_string(
          std::max<uint64_t>({100'000, uint64_t{w.window} * 5, w.producer_rate * 10}));
  }

  mode md;
  bool log;
  uint32_t topics;
  std::vector<std::string> keys;    // per topic: channel or stream
  std::vector<uint32_t> topic_of;   // per reader
  std::vector<std::string> groups;  // per reader: consumer group (memory streams)
  uint32_t consumers_per_reader;
  std::string count, maxlen;  // XREAD(GROUP) COUNT; XADD MAXLEN ~ (empty: no trimming)
};

// One run of a workload with producers (thread_run has the threads and the phases).
class redis_run final : public thread_run {
 public:
  redis_run(mode md, const workload& w, const endpoint& at, measurement& m)
      : thread_run(w, m, {io_timeout}),
        at_(at),
        lay_(md, w, size_t{w.topics} * w.subscriptions_per_topic) {}

 private:
  // ---- thread_run ----
  std::string setup() override;
  void teardown() override;
  void produce() override;
  void read(size_t reader, uint32_t consumer) override;
  size_t readers() const override { return lay_.topic_of.size(); }
  uint32_t consumers_per_reader() const override { return lay_.consumers_per_reader; }

  bool append_publish(rds::redis_link& link, rds::reply_tracker& replies, uint64_t seq,
                      steady_clock::time_point intended);
  bool poll_replies(rds::redis_link& link, rds::reply_tracker& replies,
                    std::chrono::microseconds wait);

  void subscribe(rds::redis_link& link, size_t reader);
  void read_group(rds::redis_link& link, size_t reader, uint32_t consumer);
  void read_log(rds::redis_link& link, size_t reader);
  // Delivers every entry of an XREAD/XREADGROUP reply; `ids` gets their ids.
  bool deliver_entries(size_t reader, const redisReply* r, std::vector<std::string>& ids);

  const endpoint& at_;
  layout lay_;
  rds::aof_setting saved_aof_;
};

// Streams: the AOF the workload asks for, and the consumer groups (before any XADD).
std::string redis_run::setup() {
  if (lay_.md == mode::pubsub) return {};
  rds::redis_link link;
  if (auto e = link.open(at_.host, at_.port, io_timeout); !e.empty()) return e;
  if (auto e = rds::config_get(link, "appendonly", saved_aof_.appendonly); !e.empty()) return e;
  if (auto e = rds::config_get(link, "appendfsync", saved_aof_.appendfsync); !e.empty()) return e;
  if (auto e = rds::set_aof(link, rds::aof_for(w_)); !e.empty()) return "AOF: " + e;
  if (lay_.log) return {};
  for (size_t r = 0; r < lay_.topic_of.size(); ++r) {
    auto e = link.command(
        {"XGROUP", "CREATE", lay_.keys[lay_.topic_of[r]], lay_.groups[r], "$", "MKSTREAM"});
    if (!e.empty()) return "XGROUP CREATE: " + e;
  }
  return {};
}

// Streams: deletes them and puts the AOF back. Best effort.
void redis_run::teardown() {
  if (lay_.md == mode::pubsub) return;
  rds::redis_link link;
  if (!link.open(at_.host, at_.port, teardown_timeout).empty()) return;
  rds::args del{"DEL"};
  for (const auto& k : lay_.keys)
    del.add(k);
  (void)link.command(del);
  if (!saved_aof_.appendonly.empty()) (void)set_aof(link, saved_aof_);
}

// ---- publishing ----

void redis_run::produce() {
  rds::redis_link link;
  if (auto e = link.open(at_.host, at_.port, io_timeout); !e.empty()) return fail("producer: " + e);
  track(link.fd());
  rds::reply_tracker replies(m_, report_mu_);
  if (!w_.confirms) {  // no replies at all, so none is waited for (OFF itself gets none)
    rds::args off{"CLIENT", "REPLY", "OFF"};
    if (auto e = link.append(off); !e.empty()) return fail("producer: " + e);
    if (auto e = link.flush(); !e.empty()) return fail("producer: " + e);
  }
  producer_started();
  wait_for_go();
  auto poll = [&](std::chrono::microseconds wait) { return poll_replies(link, replies, wait); };
  auto flush = [&] {
    auto e = link.flush();
    if (!e.empty()) fail("publish: " + e);
    return e.empty();
  };
  if (w_.producer_rate == 0) {
    publish_max_rate([&] { return replies.outstanding(); }, poll,
                     [&](steady_clock::time_point now) {
                       for (uint32_t i = 0; i < w_.batch; ++i)  // written in one go
                         if (!append_publish(link, replies, m_.next_sequence(), now)) return false;
                       return flush();
                     });
  } else {
    publish_fixed_rate(poll, [&](uint64_t seq, steady_clock::time_point due) {
      return append_publish(link, replies, seq, due) && flush();
    });
  }
  auto until = steady_clock::now() + limits_.confirm;
  while (replies.outstanding() != 0 && !failed()) {
    if (steady_clock::now() >= until)
      return fail(std::to_string(replies.outstanding()) + " publishes not answered in time");
    if (!poll_replies(link, replies, 10ms)) return;
  }
}

// Appends the command that publishes message `seq` (stamped `intended`) to its topic.
bool redis_run::append_publish(rds::redis_link& link, rds::reply_tracker& replies, uint64_t seq,
                               steady_clock::time_point intended) {
  thread_local std::string payload;
  thread_local rds::args a;
  m_.stamp(payload, seq, intended);
  const std::string& key = lay_.keys[seq % lay_.topics];
  a.clear();
  if (lay_.md == mode::pubsub) {
    a.add("PUBLISH");
    a.add(key);
  } else {
    a.add("XADD");
    a.add(key);
    if (!lay_.maxlen.empty()) {
      a.add("MAXLEN");
      a.add("~");
      a.add(lay_.maxlen);
    }
    a.add("*");
    a.add("p");
  }
  a.add(payload);
  if (auto e = link.append(a); !e.empty()) {
    fail("publish: " + e);
    return false;
  }
  if (w_.confirms) replies.sent(intended);
  return true;
}

// Collects the replies that came, waiting up to `wait` for the first. False (and the run
// failed) when the connection broke.
bool redis_run::poll_replies(rds::redis_link& link, rds::reply_tracker& replies,
                             std::chrono::microseconds wait) {
  for (;;) {
    rds::reply_ptr r;
    if (auto e = link.next_reply(r, wait); !e.empty()) {
      fail("producer: " + e);
      return false;
    }
    if (r == nullptr) break;
    wait = 0us;
    if (replies.outstanding() == 0) {
      fail("producer: a reply to no command");
      return false;
    }
    replies.settle(r->type != REDIS_REPLY_ERROR);
  }
  replies.report();
  return true;
}

// ---- reading ----

void redis_run::read(size_t reader, uint32_t consumer) {
  rds::redis_link link;
  if (auto e = link.open(at_.host, at_.port, io_timeout); !e.empty()) return fail("reader: " + e);
  track(link.fd());
  if (lay_.md == mode::pubsub) return subscribe(link, reader);
  if (lay_.log) return read_log(link, reader);
  read_group(link, reader, consumer);
}

void redis_run::subscribe(rds::redis_link& link, size_t reader) {
  if (auto e = link.command({"SUBSCRIBE", lay_.keys[lay_.topic_of[reader]]}); !e.empty())
    return fail("SUBSCRIBE: " + e);
  reader_started();
  while (!stop_reading() && !failed()) {
    rds::reply_ptr r;
    if (auto e = link.next_reply(r, 50ms); !e.empty()) return fail("subscriber: " + e);
    if (r == nullptr) continue;
    // ["message", channel, payload]
    if (r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
        rds::text_of(r->element[0]) == "message")
      deliver(reader, rds::text_of(r->element[2]));
  }
}

// [[key, [[id, [field, value]], ...]]] (nil when BLOCK timed out).
bool redis_run::deliver_entries(size_t reader, const redisReply* r, std::vector<std::string>& ids) {
  if (r->type == REDIS_REPLY_NIL) return true;
  if (r->type != REDIS_REPLY_ARRAY) return false;
  for (size_t s = 0; s < r->elements; ++s) {
    const redisReply* stream = r->element[s];
    if (stream->type != REDIS_REPLY_ARRAY || stream->elements != 2) return false;
    const redisReply* entries = stream->element[1];
    for (size_t i = 0; i < entries->elements; ++i) {
      const redisReply* e = entries->element[i];
      if (e->type != REDIS_REPLY_ARRAY || e->elements != 2) return false;
      ids.emplace_back(rds::text_of(e->element[0]));
      const redisReply* fields = e->element[1];
      if (fields->type != REDIS_REPLY_ARRAY || fields->elements < 2) continue;  // acked, trimmed
      deliver(reader, rds::text_of(fields->element[1]));
    }
  }
  return true;
}

// A consumer of the reader's group: each XREADGROUP goes out with the XACK of what the
// previous one read (every message acked, one command per batch).
void redis_run::read_group(rds::redis_link& link, size_t reader, uint32_t consumer) {
  const std::string& key = lay_.keys[lay_.topic_of[reader]];
  const std::string& group = lay_.groups[reader];
  std::string name = "c" + std::to_string(consumer);
  reader_started();
  std::vector<std::string> ids;
  rds::args xack, xread{"XREADGROUP", "GROUP",       group,     name, "COUNT", lay_.count,
                        "BLOCK",      read_block_ms, "STREAMS", key,  ">"};
  while (!stop_reading() && !failed()) {
    bool acking = !ids.empty();
    if (acking) {
      xack = {"XACK", key, group};
      for (const auto& id : ids)
        xack.add(id);
      if (auto e = link.append(xack); !e.empty()) return fail("XACK: " + e);
    }
    if (auto e = link.append(xread); !e.empty()) return fail("XREADGROUP: " + e);
    if (auto e = link.flush(); !e.empty()) return fail("XREADGROUP: " + e);
    rds::reply_ptr r;
    if (acking) {
      if (auto e = link.wait_reply(r); !e.empty()) return fail("XACK: " + e);
      if (r->type == REDIS_REPLY_ERROR) return fail("XACK: " + std::string(rds::text_of(r.get())));
      ids.clear();
    }
    if (auto e = link.wait_reply(r); !e.empty()) return fail("XREADGROUP: " + e);
    if (!deliver_entries(reader, r.get(), ids))
      return fail("XREADGROUP: unexpected reply " + std::string(rds::text_of(r.get())));
  }
}

// A log reader: XREAD from the start, each read after the last id it got.
void redis_run::read_log(rds::redis_link& link, size_t reader) {
  const std::string& key = lay_.keys[lay_.topic_of[reader]];
  reader_started();
  std::string last = "0-0";
  std::vector<std::string> ids;
  while (!stop_reading() && !failed()) {
    rds::reply_ptr r;
    auto e = link.command(
        {"XREAD", "COUNT", lay_.count, "BLOCK", read_block_ms, "STREAMS", key, last}, &r);
    if (!e.empty()) return fail("XREAD: " + e);
    if (!deliver_entries(reader, r.get(), ids))
      return fail("XREAD: unexpected reply " + std::string(rds::text_of(r.get())));
    if (!ids.empty()) last = std::move(ids.back());
    ids.clear();
  }
}

// ---- the drivers ----

class redis_driver final : public driver {
 public:
  explicit redis_driver(mode md) : md_(md) {}

  // ---- driver ----
  std::string name() const override {
    return md_ == mode::pubsub ? "redis-pubsub" : "redis-streams";
  }
  std::string unsupported(const workload& w) const override;
  std::string equivalence(const workload& w) const override;
  ferry::error run(const workload& w, const endpoint& at, measurement& m) override;
  ferry::error create_idle_topics(const workload& w, const endpoint& at) override {
    if (md_ == mode::pubsub) return run_error("Redis pub/sub keeps no topics");
    auto e = rds::create_idle_streams(at, w.idle_topics);
    return e.empty() ? ferry::error{} : run_error(e);
  }

 private:
  mode md_;
};

std::string redis_driver::unsupported(const workload& w) const {
  if (w.producers_per_topic == 0) return {};  // idle connections only
  if (w.group_churn && md_ == mode::streams)
    return "a Redis consumer group assigns no partitions (its consumers compete for entries; "
           "nothing to rebalance)";
  if (w.request_reply && md_ == mode::streams)
    return "request/reply needs no storage: redis-pubsub runs it";
  if (md_ == mode::pubsub) {
    if (w.kind == topic_kind::log)
      return "Redis pub/sub keeps no messages: no log (redis-streams runs log workloads)";
    if (w.consumer_acks)
      return "Redis pub/sub has no acknowledgements (redis-streams runs acked subscriptions)";
    if (w.consumers_per_subscription > 1)
      return "a Redis pub/sub subscription cannot be shared by several consumers";
    return {};
  }
  if (w.kind == topic_kind::log && w.partitions_per_topic > 1 && !w.shared)
    return "a Redis stream has no partitions";
  if (w.kind == topic_kind::memory && !w.consumer_acks)
    return "no acks: redis-pubsub runs this (on streams it would be XREAD readers of a log)";
  return {};
}

std::string redis_driver::equivalence(const workload& w) const {
  if (w.idle_connections != 0 && w.producers_per_topic == 0)
    return "idle TCP connections, each answered one PING, nothing else";
  std::string count = std::to_string(std::clamp<uint32_t>(w.prefetch, 1, 10000));
  if (w.request_reply)
    return "PUBLISH of \"<reply channel>|<payload>\" to a request channel, the requester "
           "SUBSCRIBEd to a reply channel of its own (two connections each), the responder "
           "PUBLISHing the payload back; at most once";
  if (md_ == mode::pubsub)
    return std::string(
               "PUBLISH/SUBSCRIBE, a channel per topic, a subscriber connection per "
               "subscription; at most once (no acks, no durable subscriptions); ") +
           (w.confirms ? "the PUBLISH reply is the confirm"
                       : "CLIENT REPLY OFF on the publishing connection (the workload asks "
                         "for no confirms; ferry confirms every publish all the same)");
  if (w.kind == topic_kind::memory)
    return std::string("a stream plays the queue (") +
           (w.catchup_bytes != 0 ? "untrimmed" : "XADD MAXLEN ~") +
           ", AOF off for the run), a consumer group per subscription, XREADGROUP COUNT " + count +
           ", every message acked by one XACK per read batch (sent with the next read); the "
           "XADD reply is the confirm" +
           (w.catchup_bytes != 0 ? "; the backlog is written before the consumer starts, timed "
                                   "from before it connects until it has every message"
                                 : "");
  std::string s = w.shared ? "a stream per topic read by a consumer group as the shared "
                             "subscription (one stream where ferry has " +
                                 std::to_string(w.partitions_per_topic) + " partitions), " +
                                 std::to_string(w.consumers_per_subscription) +
                                 " consumer(s) XREADGROUP COUNT " + count +
                                 " with one XACK per read batch; "
                           : std::string("a stream per topic, ");
  s.append("XADD with appendonly yes, appendfsync ");
  s.append(rds::aof_for(w).appendfsync);
  if (w.durable == durability::fsync_always) s.append(" (fsync before the reply, one per loop)");
  if (w.durable == durability::fsync_interval)
    s.append(" (fsync every second, ferry's interval may differ)");
  if (w.durable == durability::none) s.append(" (written, never fsynced)");
  s.append("; the XADD reply is the confirm");
  if (w.shared) return s;
  s.append("; readers XREAD COUNT ").append(count);
  s.append(w.catchup_bytes != 0 ? " from 0 once everything is written, timed until the last"
                                : " from the start");
  return s;
}

ferry::error redis_driver::run(const workload& w, const endpoint& at, measurement& m) {
  rds::idle_sockets idle;  // kept open while the load runs, if any
  if (w.idle_connections != 0) {
    if (auto e = rds::run_idle(w, at, m, idle)) return e;
  }
  if (w.producers_per_topic == 0) return {};
  if (w.request_reply) return run_redis_requests(w, at, m);
  redis_run r(md_, w, at, m);
  auto e = r.execute();
  return e.empty() ? ferry::error{} : run_error(e);
}

}  // namespace

std::unique_ptr<driver> make_redis_pubsub_driver() {
  return std::make_unique<redis_driver>(mode::pubsub);
}

std::unique_ptr<driver> make_redis_streams_driver() {
  return std::make_unique<redis_driver>(mode::streams);
}

}  // namespace ferry::bench
