#include "bench/drivers/ferry_load.h"

#include <atomic>
#include <cstdio>
#include <thread>

#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/post.hpp>
#include <unistd.h>

namespace ferry::bench {

namespace asio = boost::asio;
namespace fc = ferry::client;

struct ferry_load::slot {
  uint32_t reader = 0, topic = 0, subscription = 0, consumer = 0;
  std::vector<uint32_t> partitions;  // log topics with several consumers: this one's share
  // The consumer's own loop and thread; the client and its handles live on it.
  asio::io_context io{1};
  asio::executor_work_guard<asio::io_context::executor_type> work{io.get_executor()};
  std::thread thread;
  std::unique_ptr<fc::client> client;
  fc::consumer sub;
  fc::log_consumer log;

  ~slot() {
    work.reset();
    io.stop();
    if (thread.joinable()) thread.join();
    sub = {};
    log = {};
    client.reset();  // before io: its handlers may refer to the client
  }
};

std::string make_run_id() {
  static std::atomic<uint32_t> runs{0};
  std::string id = "r";
  return id.append(std::to_string(::getpid())).append("-").append(std::to_string(runs++));
}

v1::FsyncPolicy fsync_policy(durability d) {
  switch (d) {
    case durability::fsync_always: return v1::FSYNC_ALWAYS;
    case durability::fsync_interval: return v1::FSYNC_INTERVAL;
    case durability::none: break;
  }
  return v1::FSYNC_NEVER;
}

namespace {

std::string subscription_name(const std::string& topic, uint32_t s) {
  std::string n = topic;
  return n.append(".s").append(std::to_string(s));
}

}  // namespace

ferry_load::ferry_load(asio::io_context& io, const workload& w, const endpoint& at, measurement& m)
    : io_(io),
      w_(w),
      at_(at),
      m_(m),
      run_id_(make_run_id()),
      pace_(io),
      max_rate_(w.producer_rate == 0),
      acks_((w.kind == topic_kind::memory || w.shared) && w.consumer_acks),
      catchup_(w.catchup_bytes != 0) {
  for (uint32_t t = 0; t < w_.topics; ++t) {
    std::string name = "bench.";
    topics_.push_back(name.append(run_id_).append(".t").append(std::to_string(t)));
  }
  producer_turn_.assign(w_.topics, 0);
}

// Pending completions may still run while the clients close: they see closing_ and
// torn_down_ and do nothing. The consumer threads stop with their slots.
ferry_load::~ferry_load() {
  closing_ = true;
  torn_down_ = true;
  slots_.clear();
}

fc::client_options ferry_client_options(const endpoint& at) {
  fc::client_options o;
  o.host = at.host;
  o.port = at.port;
  o.client_id = "ferry-bench";
  o.max_unconfirmed_bytes = 64 << 20;
  o.tls.enabled = !at.tls_ca_file.empty();
  o.tls.ca_file = at.tls_ca_file;
  o.creds.username = at.user;
  o.creds.password = at.password;
  return o;
}

fc::client_options ferry_load::client_options() const {
  return ferry_client_options(at_);
}

void ferry_load::fail(const std::string& why) {
  if (closing_) return;
  if (failure_.empty()) failure_ = why;
  io_.stop();
}

void ferry_load::post_fail(const std::string& why) {
  asio::post(io_, [this, why] { fail(why); });
}

// At most one pump waits in io_'s queue, however many deliveries ask for one.
void ferry_load::post_pump() {
  if (pump_posted_.exchange(true)) return;
  asio::post(io_, [this] {
    pump_posted_ = false;
    if (!closing_) pump();
  });
}

// ---- setup: producers (the first creates the topics), then consumers ----

void ferry_load::start() {
  connect_producer(0);
}

void ferry_load::connect_producer(size_t i) {
  if (i == size_t{w_.topics} * w_.producers_per_topic) return create_topic(0);
  producers_.push_back(std::make_unique<fc::client>(io_.get_executor(), client_options()));
  producers_.back()->async_connect([this, i](ferry::error e) {
    if (closing_) return;
    if (e) return fail("connect producer: " + e.to_string());
    connect_producer(i + 1);
  });
}

void ferry_load::create_topic(size_t t) {
  if (t == topics_.size()) {
    plan_consumers();
    if (catchup_ && w_.kind == topic_kind::memory) return create_backlog_subscription(0);
    if (catchup_) return begin_phases();  // readers come after the writing
    return connect_consumer(0);
  }
  v1::CreateTopic req;
  req.set_name(topics_[t]);
  req.set_if_not_exists(true);
  if (w_.kind == topic_kind::log) {
    req.set_kind(v1::LOG);
    req.mutable_options()->set_partitions(w_.partitions_per_topic);
    req.mutable_options()->set_fsync(fsync_policy(w_.durable));
    if (w_.durable == durability::fsync_interval)
      req.mutable_options()->set_fsync_interval_ms(1000);
  }
  producers_[0]->async_create_topic(req, [this, t](ferry::error e, v1::TopicInfo) {
    if (closing_) return;
    if (e) return fail("create topic: " + e.to_string());
    create_topic(t + 1);
  });
}

// A memory backlog is written into durable subscriptions that exist before the first
// publish (their consumers come after the writing).
void ferry_load::create_backlog_subscription(uint32_t r) {
  if (r == w_.topics * w_.subscriptions_per_topic) return begin_phases();
  const std::string& topic = topics_[r / w_.subscriptions_per_topic];
  v1::CreateSubscription cs;
  cs.set_name(subscription_name(topic, r % w_.subscriptions_per_topic));
  cs.set_pattern(topic);
  cs.set_if_not_exists(true);
  producers_[0]->async_create_subscription(cs, [this, r](ferry::error e, v1::SubscriptionInfo) {
    if (closing_) return;
    if (e) return fail("create subscription: " + e.to_string());
    create_backlog_subscription(r + 1);
  });
}

// Reader r = topic * subscriptions_per_topic + subscription (measurement.h). A log topic's
// partitions are split among a subscription's consumers (p % consumers); consumers left
// without a partition are not created.
void ferry_load::plan_consumers() {
  uint32_t c_count = w_.consumers_per_subscription;
  const bool competing = (w_.kind == topic_kind::memory || w_.shared) && c_count > 1;
  if (competing && w_.client_threads)
    for (uint32_t r = 0; r < w_.topics * w_.subscriptions_per_topic; ++r)
      reader_locks_.push_back(std::make_unique<std::mutex>());
  for (uint32_t t = 0; t < w_.topics; ++t) {
    for (uint32_t s = 0; s < w_.subscriptions_per_topic; ++s) {
      for (uint32_t c = 0; c < c_count; ++c) {
        auto k = std::make_unique<slot>();
        k->reader = t * w_.subscriptions_per_topic + s;
        k->topic = t;
        k->subscription = s;
        k->consumer = c;
        if (w_.kind == topic_kind::log && !w_.shared && c_count > 1) {
          for (uint32_t p = c; p < w_.partitions_per_topic; p += c_count)
            k->partitions.push_back(p);
          if (k->partitions.empty()) continue;
        }
        slots_.push_back(std::move(k));
      }
    }
  }
}

void ferry_load::connect_consumer(size_t i) {
  if (i == slots_.size()) {
    if (!catching_up_) begin_phases();
    return;
  }
  // From here until consumer_ready, the consumer's own thread runs its setup.
  slot& k = *slots_[i];
  k.client = std::make_unique<fc::client>(loop_of(k).get_executor(), client_options());
  if (w_.client_threads) k.thread = std::thread([&k] { k.io.run(); });
  asio::post(loop_of(k), [this, i] {
    slots_[i]->client->async_connect([this, i](ferry::error e) {
      if (closing_) return;
      if (e) return post_fail("connect consumer: " + e.to_string());
      slot& k2 = *slots_[i];
      bool durable_sub = (w_.kind == topic_kind::memory && !w_.ephemeral) || w_.shared;
      if (!durable_sub || k2.consumer != 0) return attach_consumer(i);
      v1::CreateSubscription cs;
      cs.set_name(subscription_name(topics_[k2.topic], k2.subscription));
      cs.set_pattern(topics_[k2.topic]);
      cs.set_if_not_exists(true);
      k2.client->async_create_subscription(cs, [this, i](ferry::error e2, v1::SubscriptionInfo) {
        if (closing_) return;
        if (e2) return post_fail("create subscription: " + e2.to_string());
        attach_consumer(i);
      });
    });
  });
}

asio::io_context& ferry_load::loop_of(slot& k) {
  return w_.client_threads ? k.io : io_;
}

void ferry_load::consumer_ready(size_t i) {
  if (closing_) return;
  connect_consumer(i + 1);
}

void ferry_load::attach_consumer(size_t i) {
  slot& k = *slots_[i];
  auto on_delivery_fn = [this, &k](const fc::delivery& d) { on_delivery(k, d); };
  if (w_.kind == topic_kind::log && !w_.shared) {
    fc::consume_options o;
    o.topic = topics_[k.topic];  // no partitions: every partition, from the earliest record
    for (uint32_t p : k.partitions)
      o.partitions.emplace_back(p, fc::position::earliest());
    o.credit = w_.prefetch;
    k.client->async_consume(o, on_delivery_fn, [this, i](ferry::error e, fc::log_consumer c) {
      if (closing_) return;
      if (e) return post_fail("consume: " + e.to_string());
      slots_[i]->log = std::move(c);
      asio::post(io_, [this, i] { consumer_ready(i); });
    });
    return;
  }
  fc::subscribe_options o;
  if (w_.ephemeral) {
    o.pattern = topics_[k.topic];
  } else {
    o.subscription = subscription_name(topics_[k.topic], k.subscription);
  }
  o.prefetch = w_.prefetch;
  o.auto_ack = !w_.consumer_acks;
  k.client->async_subscribe(o, on_delivery_fn, [this, i](ferry::error e, fc::consumer c) {
    if (closing_) return;
    if (e) return post_fail("subscribe: " + e.to_string());
    slots_[i]->sub = std::move(c);
    asio::post(io_, [this, i] { consumer_ready(i); });
  });
}

// ---- the hot path: one delivery, on the consumer's thread ----

void ferry_load::on_delivery(slot& k, const fc::delivery& d) {
  if (reader_locks_.empty()) {
    m_.on_message(k.reader, d.payload());
  } else {
    std::lock_guard lock(*reader_locks_[k.reader]);
    m_.on_message(k.reader, d.payload());
  }
  if (acks_) k.sub.ack(d);
  if (catching_up_) {  // set before any reader was created
    if (m_.received(k.reader) * w_.topics + w_.topics > m_.sent() && m_.drained() &&
        !catchup_done_.exchange(true)) {
      m_.catchup_finished(std::chrono::steady_clock::now());
      io_.stop();
    }
    return;
  }
  if (!max_rate_ || stopping_) return;
  uint64_t got = m_.received(k.reader) * w_.topics;
  if (got + refill_below(w_) >= m_.sent()) post_pump();
}

// ---- publishing ----

void ferry_load::begin_phases() {
  m_.start(std::chrono::steady_clock::now());
  if (max_rate_) {
    pump();
  } else {
    paced();
  }
}

fc::client& ferry_load::producer_for(uint32_t topic, uint64_t turn) {
  return *producers_[size_t{topic} * w_.producers_per_topic + turn % w_.producers_per_topic];
}

// Max rate: keep at most `window` messages sent but not yet received by the slowest reader
// (and not yet confirmed), in batches, so queues cannot grow without end and the rate
// measured is what the broker sustains end to end. Catch-up runs only write first.
void ferry_load::pump() {
  const uint32_t topics = w_.topics;
  // Catch-up runs write before any reader exists: only confirms bound the window then.
  auto unread = [&] { return catchup_ ? 0 : m_.sent() - m_.slowest_received(); };
  // A full window refills as every driver's does (workload::refill_half).
  if (refilling_ && w_.refill_half) {
    if (inflight_ > refill_below(w_) || unread() > refill_below(w_)) return;
  }
  refilling_ = false;
  while (!stopping_ && inflight_ < w_.window && unread() < w_.window) {
    bool done = catchup_ ? m_.sent() * w_.message_size >= w_.catchup_bytes
                         : m_.past_end(std::chrono::steady_clock::now());
    if (done) {
      stopping_ = true;
      break;
    }
    auto sent_at = std::chrono::steady_clock::now();
    if (topics == 1) {
      std::vector<fc::message> batch(w_.batch);
      for (auto& msg : batch)
        m_.stamp(msg.payload, m_.next_sequence(), sent_at);
      publish_batch(0, std::move(batch), sent_at);
      continue;
    }
    std::vector<std::vector<fc::message>> parts(topics);
    for (uint32_t i = 0; i < w_.batch; ++i) {
      uint64_t seq = m_.next_sequence();
      auto& part = parts[seq % topics];
      part.emplace_back();
      m_.stamp(part.back().payload, seq, sent_at);
    }
    for (uint32_t t = 0; t < topics; ++t)
      if (!parts[t].empty()) publish_batch(t, std::move(parts[t]), sent_at);
  }
  if (!stopping_) refilling_ = true;  // the window is full
  if (stopping_ && inflight_ == 0) publishing_done();
}

void ferry_load::publish_batch(uint32_t topic, std::vector<fc::message> batch,
                               std::chrono::steady_clock::time_point sent_at) {
  auto n = static_cast<uint32_t>(batch.size());
  inflight_ += n;
  producer_for(topic, producer_turn_[topic]++)
      .async_publish_batch(topics_[topic], std::move(batch),
                           [this, n, sent_at](ferry::error e, fc::batch_result r) {
                             if (closing_) return;
                             inflight_ -= n;
                             if (e) {
                               m_.publish_failed(n);
                             } else {
                               m_.confirmed(r.accepted, sent_at);
                               if (!r.failures.empty()) m_.publish_failed(r.failures.size());
                             }
                             pump();
                           });
}

// Fixed rate, open loop: message i is due at measurement::due(i) and carries that time; its
// ack latency is measured from that time too.
void ferry_load::paced() {
  auto now = std::chrono::steady_clock::now();
  if (m_.past_end(now)) {
    stopping_ = true;
    if (inflight_ == 0) publishing_done();
    return;
  }
  const uint32_t topics = w_.topics;
  // At most a batch per turn: a producer behind its schedule must still let the loop write
  // what it published (sending everything due at once snowballed past 1 M msg/s: the
  // client built messages for seconds and wrote none).
  uint32_t sent_now = 0;
  for (auto due = m_.due(m_.sent()); due <= now && sent_now < w_.batch;
       due = m_.due(m_.sent()), ++sent_now) {
    uint64_t seq = m_.next_sequence();
    auto topic = static_cast<uint32_t>(seq % topics);
    fc::message msg;
    m_.stamp(msg.payload, seq, due);
    ++inflight_;
    producer_for(topic, seq / topics)
        .async_publish(topics_[topic], std::move(msg),
                       [this, due](ferry::error e, fc::publish_result) {
                         if (closing_) return;
                         --inflight_;
                         if (e) {
                           m_.publish_failed(1);
                         } else {
                           m_.confirmed(1, due);
                         }
                         if (stopping_ && inflight_ == 0) publishing_done();
                       });
  }
  if (sent_now == w_.batch) {  // still behind: the next batch after the loop's I/O
    asio::post(io_, [this] {
      if (!closing_) paced();
    });
    return;
  }
  pace_.expires_at(m_.due(m_.sent()));
  pace_.async_wait([this](boost::system::error_code ec) {
    if (!ec && !closing_) paced();
  });
}

void ferry_load::publishing_done() {
  if (catchup_ && !catching_up_) return begin_catchup();
  if (!catching_up_) io_.stop();
}

// Everything is written: now the readers from the earliest record, timed until they have
// everything.
void ferry_load::begin_catchup() {
  catching_up_ = true;
  // Timed from before the reader connects, as every driver does: connecting and
  // subscribing are part of catching up.
  m_.begin_catchup();
  connect_consumer(0);
}

// ---- teardown ----

void ferry_load::start_teardown() {
  closing_ = true;
  pace_.cancel();
  for (auto& k : slots_)
    if (k->client) asio::post(loop_of(*k), [&c = *k->client] { c.close(); });
  if (producers_.empty() || producers_[0]->state() != fc::connection_state::connected) {
    producers_.clear();
    torn_down_ = true;
    return;
  }
  delete_next(0);
}

// Durable subscriptions first, then the topics; errors are ignored (best effort).
void ferry_load::delete_next(size_t i) {
  if (torn_down_) return;
  size_t subs = (w_.kind == topic_kind::memory && !w_.ephemeral) || w_.shared
                    ? topics_.size() * w_.subscriptions_per_topic
                    : 0;
  if (i < subs) {
    v1::DeleteSubscription req;
    req.set_name(subscription_name(topics_[i / w_.subscriptions_per_topic],
                                   static_cast<uint32_t>(i % w_.subscriptions_per_topic)));
    req.set_if_exists(true);
    producers_[0]->async_delete_subscription(
        req, [this, i](ferry::error, v1::DeleteSubscriptionOk) { delete_next(i + 1); });
    return;
  }
  if (i < subs + topics_.size()) {
    v1::DeleteTopic req;
    req.set_name(topics_[i - subs]);
    req.set_if_exists(true);
    producers_[0]->async_delete_topic(
        req, [this, i](ferry::error, v1::DeleteTopicOk) { delete_next(i + 1); });
    return;
  }
  for (auto& p : producers_)
    p->close();
  torn_down_ = true;
}

}  // namespace ferry::bench
