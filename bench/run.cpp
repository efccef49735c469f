#include "bench/run.h"

#include <cstdio>
#include <cstring>

namespace ferry::bench {

namespace asio = boost::asio;
namespace fc = ferry::client;

// One reader (subscription consumer or log reader): counts, checks sequences, latency.
struct run::sink {
  fc::consumer sub;
  fc::log_consumer log;
  std::vector<uint8_t> seen;  // per sequence: times received
  uint64_t received = 0, in_window = 0, duplicates = 0;
  histogram latency_ns;
};

run::run(asio::io_context& io, settings s)
    : io_(io), s_(std::move(s)), topic_(s_.w.log ? "bench.log" : "bench.topic"), pace_(io) {}

run::~run() = default;

fc::client_options run::client_options() const {
  fc::client_options o;
  o.host = s_.host;
  o.port = s_.port;
  o.client_id = "ferry-bench";
  o.max_unconfirmed_bytes = 64 << 20;
  return o;
}

void run::fail(const std::string& why) {
  std::fprintf(stderr, "ferry-bench: %s\n", why.c_str());
  failed_ = true;
  io_.stop();
}

void run::start() {
  publisher_ = std::make_unique<fc::client>(io_.get_executor(), client_options());
  publisher_->async_connect([this](ferry::error e) {
    if (e) return fail("connect: " + e.to_string());
    create_topic();
  });
}

void run::create_topic() {
  v1::CreateTopic t;
  t.set_name(topic_);
  t.set_if_not_exists(true);
  if (s_.w.log) {
    t.set_kind(v1::LOG);
    t.mutable_options()->set_partitions(s_.w.partitions);
    t.mutable_options()->set_fsync(s_.w.fsync);
  }
  publisher_->async_create_topic(t, [this](ferry::error e, v1::TopicInfo) {
    if (e) return fail("create topic: " + e.to_string());
    if (s_.w.catchup_bytes != 0) return begin_phases();  // readers come after the writing
    connect_reader(0);
  });
}

void run::connect_reader(uint32_t i) {
  if (i == (catching_up_ ? 1u : s_.w.subscriptions)) {
    if (!catching_up_) begin_phases();
    return;
  }
  reader_clients_.push_back(std::make_unique<fc::client>(io_.get_executor(), client_options()));
  reader_clients_.back()->async_connect([this, i](ferry::error e) {
    if (e) return fail("connect reader: " + e.to_string());
    if (s_.w.log || s_.w.ephemeral) return attach_reader(i);
    v1::CreateSubscription cs;
    cs.set_name("bench-" + std::to_string(i));
    cs.set_pattern(topic_);
    cs.set_if_not_exists(true);
    reader_clients_[i]->async_create_subscription(
        cs, [this, i](ferry::error e2, v1::SubscriptionInfo) {
          if (e2) return fail("create subscription: " + e2.to_string());
          attach_reader(i);
        });
  });
}

void run::attach_reader(uint32_t i) {
  sinks_.push_back(std::make_unique<sink>());
  sink& k = *sinks_.back();
  auto on_delivery_fn = [this, &k](const fc::delivery& d) { on_delivery(k, d); };
  if (s_.w.log) {
    fc::consume_options o;
    o.topic = topic_;  // every partition, from the earliest record
    o.credit = s_.prefetch;
    reader_clients_[i]->async_consume(o, on_delivery_fn,
                                      [this, i, &k](ferry::error e, fc::log_consumer c) {
                                        if (e) return fail("consume: " + e.to_string());
                                        k.log = std::move(c);
                                        if (catching_up_) catchup_start_ = steady::now();
                                        connect_reader(i + 1);
                                      });
    return;
  }
  fc::subscribe_options o;
  if (s_.w.ephemeral) {
    o.pattern = topic_;
  } else {
    o.subscription = "bench-" + std::to_string(i);
  }
  o.prefetch = s_.prefetch;
  o.auto_ack = !s_.w.acks;
  reader_clients_[i]->async_subscribe(o, on_delivery_fn,
                                      [this, i, &k](ferry::error e, fc::consumer c) {
                                        if (e) return fail("subscribe: " + e.to_string());
                                        k.sub = std::move(c);
                                        connect_reader(i + 1);
                                      });
}

void run::on_delivery(sink& k, const fc::delivery& d) {
  auto now = steady::now();
  uint64_t seq = 0;
  int64_t stamp = 0;
  auto p = d.payload();
  if (p.size() >= 16) {
    std::memcpy(&seq, p.data(), 8);
    std::memcpy(&stamp, p.data() + 8, 8);
  }
  if (seq >= k.seen.size()) k.seen.resize(std::max<size_t>(seq + 1, k.seen.size() * 2), 0);
  if (k.seen[seq]++ != 0) ++k.duplicates;
  ++k.received;
  if (in_window(now)) {
    ++k.in_window;
    int64_t lat = std::chrono::duration_cast<std::chrono::nanoseconds>(now - t0_).count() - stamp;
    k.latency_ns.record(static_cast<uint64_t>(std::max<int64_t>(lat, 0)));
  }
  if (!s_.w.log && s_.w.acks) k.sub.ack(d);
  if (catching_up_ && k.received == next_seq_) {
    catchup_end_ = now;
    io_.stop();
    return;
  }
  if (s_.w.rate == 0 && !stopping_ && next_seq_ - k.received <= s_.window / 2) pump();
}

fc::message run::make(uint64_t seq, int64_t stamp_ns) {
  if (filler_.size() != s_.w.message_bytes)
    filler_.assign(std::max<uint32_t>(s_.w.message_bytes, 16), 'x');
  fc::message m;
  m.payload = filler_;
  std::memcpy(m.payload.data(), &seq, 8);
  std::memcpy(m.payload.data() + 8, &stamp_ns, 8);
  return m;
}

void run::begin_phases() {
  t0_ = steady::now();
  auto secs = [](double s) {
    return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
  };
  window_start_ = t0_ + secs(s_.warmup_s);
  window_end_ = window_start_ + secs(s_.duration_s);
  stop_at_ = window_end_;
  measuring_ = s_.w.catchup_bytes == 0;
  if (s_.w.rate == 0) {
    pump();
  } else {
    paced();
  }
}

uint64_t run::slowest_received() const {
  uint64_t m = next_seq_;
  for (const auto& k : sinks_)
    m = std::min(m, k->received);
  return m;
}

// Max rate: keep at most `window` messages sent but not yet received by the slowest
// reader (and not yet confirmed), in batches, so queues cannot grow without end and the
// rate measured is what the broker sustains end to end. Catch-up runs only write first.
void run::pump() {
  while (!stopping_ && inflight_ < s_.window && next_seq_ - slowest_received() < s_.window) {
    bool done = s_.w.catchup_bytes != 0 ? next_seq_ * s_.w.message_bytes >= s_.w.catchup_bytes
                                        : steady::now() >= stop_at_;
    if (done) {
      stopping_ = true;
      break;
    }
    std::vector<fc::message> batch;
    batch.reserve(s_.batch);
    auto sent = steady::now();
    int64_t stamp = std::chrono::duration_cast<std::chrono::nanoseconds>(sent - t0_).count();
    for (uint32_t i = 0; i < s_.batch; ++i)
      batch.push_back(make(next_seq_++, stamp));
    inflight_ += s_.batch;
    publisher_->async_publish_batch(topic_, std::move(batch),
                                    [this, n = s_.batch, sent](ferry::error e, fc::batch_result r) {
                                      on_batch_confirmed(n, sent, e, r);
                                    });
  }
  if (stopping_ && inflight_ == 0) {
    if (s_.w.catchup_bytes != 0 && !catching_up_) return begin_catchup();
    if (!catching_up_) io_.stop();
  }
}

void run::on_batch_confirmed(uint32_t n, steady::time_point sent, const error& e,
                             const fc::batch_result& r) {
  auto now = steady::now();
  inflight_ -= n;
  confirmed_ += r.accepted;
  if (e || !r.failures.empty()) publish_errors_ += e ? n : r.failures.size();
  if (in_window(now)) {
    confirmed_in_window_ += r.accepted;
    auto lat = static_cast<uint64_t>(
        std::chrono::duration_cast<std::chrono::nanoseconds>(now - sent).count());
    for (uint32_t i = 0; i < n; ++i)
      ack_latency_ns_.record(lat);
  }
  pump();
}

// Fixed rate, open loop: message i is due at t0 + i / rate and carries that time; its ack
// latency is measured from that time too.
void run::paced() {
  auto now = steady::now();
  if (now >= stop_at_) {
    stopping_ = true;
    if (inflight_ == 0) io_.stop();
    return;
  }
  auto period = std::chrono::nanoseconds(1'000'000'000 / s_.w.rate);
  while (t0_ + period * static_cast<int64_t>(next_seq_) <= now) {
    auto due = period * static_cast<int64_t>(next_seq_);
    ++inflight_;
    publisher_->async_publish(
        topic_, make(next_seq_++, due.count()), [this, due](ferry::error e, fc::publish_result) {
          auto t = steady::now();
          --inflight_;
          ++(e ? publish_errors_ : confirmed_);
          if (!e && in_window(t)) {
            ++confirmed_in_window_;
            ack_latency_ns_.record(static_cast<uint64_t>(
                std::chrono::duration_cast<std::chrono::nanoseconds>(t - (t0_ + due)).count()));
          }
          if (stopping_ && inflight_ == 0) io_.stop();
        });
  }
  pace_.expires_at(t0_ + period * static_cast<int64_t>(next_seq_));
  pace_.async_wait([this](boost::system::error_code ec) {
    if (!ec) paced();
  });
}

// Everything is written: now one reader from the earliest record, timed until it has all.
void run::begin_catchup() {
  catching_up_ = true;
  connect_reader(0);
}

bool run::drained() const {
  for (const auto& k : sinks_)
    if (k->received < next_seq_) return false;
  return true;
}

int run::report(const broker_stats& stats) {
  uint64_t sent = next_seq_, lost = 0, dups = 0, delivered_window = 0;
  histogram e2e;
  for (auto& k : sinks_) {
    for (uint64_t i = 0; i < sent; ++i)
      if (i >= k->seen.size() || k->seen[i] == 0) ++lost;
    dups += k->duplicates;
    delivered_window += k->in_window;
    e2e.merge(k->latency_ns);
  }
  double delivered = static_cast<double>(delivered_window) / s_.duration_s;
  double acked = static_cast<double>(confirmed_in_window_) / s_.duration_s;
  if (s_.w.catchup_bytes != 0) {
    double secs = std::chrono::duration<double>(catchup_end_ - catchup_start_).count();
    delivered = secs > 0 ? static_cast<double>(sinks_.empty() ? 0 : sinks_[0]->received) / secs : 0;
    acked = 0;
  }
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::printf(
      "| %s | %.0f | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %.1f | %llu | %llu | "
      "%.2f | %.1f |\n",
      s_.w.name.c_str(), acked, delivered, delivered * s_.w.message_bytes / 1e6,
      us(ack_latency_ns_.quantile(0.5)), us(ack_latency_ns_.quantile(0.99)),
      us(ack_latency_ns_.quantile(0.999)), us(e2e.quantile(0.5)), us(e2e.quantile(0.99)),
      us(e2e.quantile(0.999)), us(e2e.max()), static_cast<unsigned long long>(lost),
      static_cast<unsigned long long>(dups), stats.cpu_seconds, stats.peak_rss_bytes / 1048576.0);
  std::fprintf(
      stderr,
      "{\"workload\":\"%s\",\"sent\":%llu,\"confirmed\":%llu,\"publish_errors\":%llu,"
      "\"acked_per_s\":%.0f,\"delivered_per_s\":%.0f,\"lost\":%llu,\"duplicated\":%llu,"
      "\"broker_cpu_s\":%.3f,\"broker_peak_rss_bytes\":%llu,"
      "\"ack_latency_ns\":{\"p50\":%llu,\"p99\":%llu,\"p999\":%llu,\"max\":%llu,\"histogram\":%s},"
      "\"e2e_latency_ns\":{\"p50\":%llu,\"p99\":%llu,\"p999\":%llu,\"p9999\":%llu,\"max\":%llu,"
      "\"histogram\":%s}}\n",
      s_.w.name.c_str(), (unsigned long long)sent, (unsigned long long)confirmed_,
      (unsigned long long)publish_errors_, acked, delivered, (unsigned long long)lost,
      (unsigned long long)dups, stats.cpu_seconds, (unsigned long long)stats.peak_rss_bytes,
      (unsigned long long)ack_latency_ns_.quantile(0.5),
      (unsigned long long)ack_latency_ns_.quantile(0.99),
      (unsigned long long)ack_latency_ns_.quantile(0.999),
      (unsigned long long)ack_latency_ns_.max(), ack_latency_ns_.to_json().c_str(),
      (unsigned long long)e2e.quantile(0.5), (unsigned long long)e2e.quantile(0.99),
      (unsigned long long)e2e.quantile(0.999), (unsigned long long)e2e.quantile(0.9999),
      (unsigned long long)e2e.max(), e2e.to_json().c_str());
  return (lost == 0 && dups == 0 && publish_errors_ == 0 && !failed_) ? 0 : 1;
}

}  // namespace ferry::bench
