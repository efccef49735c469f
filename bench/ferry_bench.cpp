// ferry-bench: load against ferryd through libferry, with honest latency.
//
// One process, one thread (an io_context) for every client connection, so on a 2-core
// machine the broker gets the other core. Publishers either run as fast as the broker
// confirms (a window of unconfirmed messages) or open-loop at a fixed rate, stamping each
// message with its *intended* send time, so a stall shows up as latency instead of as a
// lower send rate (no coordinated omission). Every message carries a sequence number;
// every subscription checks that it saw each one exactly once.
//
// Exit status: 0 when nothing was lost or duplicated, 1 otherwise, 2 on usage errors.
#include <cstdio>
#include <cstring>
#include <iostream>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/broker_stats.h"
#include "bench/histogram.h"
#include "ferry/client/client.h"

namespace asio = boost::asio;
namespace fc = ferry::client;
namespace v1 = ferry::v1;
using ferry::bench::histogram;
using steady = std::chrono::steady_clock;

namespace {

struct workload {
  std::string name;
  std::string description;
  uint32_t message_bytes = 100;
  uint32_t subscriptions = 1;
  bool ephemeral = false;  // ephemeral subscriptions (else durable named ones)
  bool acks = true;        // manual acks (else auto_ack)
  uint64_t rate = 0;       // messages/s; 0 = as fast as the broker confirms
};

const std::vector<workload> workloads = {
    {"mem-throughput-100B", "1 publisher, 1 durable subscription, 1 consumer with acks, max rate",
     100, 1, false, true, 0},
    {"mem-pubsub-100B", "1 publisher, 1 ephemeral subscription, no acks, max rate", 100, 1, true,
     false, 0},
    {"mem-latency-5k", "1 publisher at 5,000 msg/s, 1 ephemeral subscription, no acks", 100, 1,
     true, false, 5000},
    {"mem-latency-5k-acks", "1 publisher at 5,000 msg/s, 1 durable subscription with acks", 100, 1,
     false, true, 5000},
    {"mem-fanout-8", "1 publisher, 8 ephemeral subscriptions (8 connections), no acks, max rate",
     100, 8, true, false, 0},
};

struct settings {
  workload w;
  double warmup_s = 2;
  double duration_s = 10;
  uint32_t window = 20000;  // unconfirmed messages in flight (max-rate publishers)
  uint32_t batch = 500;     // messages per publish call (max-rate publishers)
  uint32_t prefetch = 10000;
  std::string host;
  uint16_t port = 0;
};

// One subscription's consumer: counts, checks sequences, records latency.
struct sink {
  fc::consumer handle;
  std::vector<uint8_t> seen;  // per sequence: times received
  uint64_t received = 0, in_window = 0, duplicates = 0;
  histogram latency_ns;
};

class run {
 public:
  run(asio::io_context& io, settings s) : io_(io), s_(std::move(s)), pace_(io) {}

  void start() {
    auto opts = client_options();
    publisher_ = std::make_unique<fc::client>(io_.get_executor(), opts);
    publisher_->async_connect([this](ferry::error e) {
      if (e) return fail("connect: " + e.to_string());
      v1::CreateTopic t;
      t.set_name(topic_);
      t.set_if_not_exists(true);
      publisher_->async_create_topic(t, [this](ferry::error e2, v1::TopicInfo) {
        if (e2) return fail("create topic: " + e2.to_string());
        connect_consumers(0);
      });
    });
  }

  int finish_and_report(const ferry::bench::broker_stats& stats);
  // Every subscription received every message sent.
  bool drained() const {
    for (const auto& k : sinks_)
      if (k->received < next_seq_) return false;
    return true;
  }
  void fail(const std::string& why) {
    std::fprintf(stderr, "ferry-bench: %s\n", why.c_str());
    failed_ = true;
    io_.stop();
  }

 private:
  fc::client_options client_options() const {
    fc::client_options o;
    o.host = s_.host;
    o.port = s_.port;
    o.client_id = "ferry-bench";
    o.max_unconfirmed_bytes = 64 << 20;
    return o;
  }

  void connect_consumers(uint32_t i);
  void subscribe(uint32_t i);
  void on_delivery(sink& k, const fc::delivery& d);
  void begin_phases();
  void pump();
  uint64_t slowest_received() const;
  void paced();
  fc::message make(uint64_t seq, int64_t stamp_ns);

  asio::io_context& io_;
  settings s_;
  std::string topic_ = "bench.topic";
  std::unique_ptr<fc::client> publisher_;
  std::vector<std::unique_ptr<fc::client>> consumer_clients_;
  std::vector<std::unique_ptr<sink>> sinks_;
  asio::steady_timer pace_;

  uint64_t next_seq_ = 0, confirmed_ = 0, publish_errors_ = 0, inflight_ = 0;
  steady::time_point t0_, window_start_, window_end_, stop_at_;
  bool measuring_ = false, stopping_ = false, failed_ = false;
  std::string filler_;
};

void run::connect_consumers(uint32_t i) {
  if (i == s_.w.subscriptions) return begin_phases();
  consumer_clients_.push_back(std::make_unique<fc::client>(io_.get_executor(), client_options()));
  consumer_clients_.back()->async_connect([this, i](ferry::error e) {
    if (e) return fail("connect consumer: " + e.to_string());
    if (s_.w.ephemeral) return subscribe(i);
    v1::CreateSubscription cs;
    cs.set_name("bench-" + std::to_string(i));
    cs.set_pattern(topic_);
    cs.set_if_not_exists(true);
    consumer_clients_[i]->async_create_subscription(
        cs, [this, i](ferry::error e2, v1::SubscriptionInfo) {
          if (e2) return fail("create subscription: " + e2.to_string());
          subscribe(i);
        });
  });
}

void run::subscribe(uint32_t i) {
  sinks_.push_back(std::make_unique<sink>());
  sink& k = *sinks_.back();
  fc::subscribe_options o;
  if (s_.w.ephemeral) {
    o.pattern = topic_;
  } else {
    o.subscription = "bench-" + std::to_string(i);
  }
  o.prefetch = s_.prefetch;
  o.auto_ack = !s_.w.acks;
  consumer_clients_[i]->async_subscribe(
      o, [this, &k](const fc::delivery& d) { on_delivery(k, d); },
      [this, i, &k](ferry::error e, fc::consumer c) {
        if (e) return fail("subscribe: " + e.to_string());
        k.handle = std::move(c);
        connect_consumers(i + 1);
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
  if (measuring_ && now >= window_start_ && now < window_end_) {
    ++k.in_window;
    int64_t lat = std::chrono::duration_cast<std::chrono::nanoseconds>(now - t0_).count() - stamp;
    k.latency_ns.record(static_cast<uint64_t>(std::max<int64_t>(lat, 0)));
  }
  if (s_.w.acks) k.handle.ack(d);
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
  measuring_ = true;
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
// subscription (and not yet confirmed), in batches, so the queue cannot grow without end
// and the rate measured is the rate the broker sustains end to end.
void run::pump() {
  while (!stopping_ && inflight_ < s_.window && next_seq_ - slowest_received() < s_.window) {
    if (steady::now() >= stop_at_) {
      stopping_ = true;
      break;
    }
    std::vector<fc::message> batch;
    batch.reserve(s_.batch);
    int64_t stamp =
        std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now() - t0_).count();
    for (uint32_t i = 0; i < s_.batch; ++i)
      batch.push_back(make(next_seq_++, stamp));
    inflight_ += s_.batch;
    publisher_->async_publish_batch(topic_, std::move(batch),
                                    [this, n = s_.batch](ferry::error e, fc::batch_result r) {
                                      inflight_ -= n;
                                      confirmed_ += r.accepted;
                                      if (e || !r.failures.empty())
                                        publish_errors_ += e ? n : r.failures.size();
                                      pump();
                                    });
  }
  if (stopping_ && inflight_ == 0) io_.stop();
}

// Fixed rate, open loop: message i is due at t0 + i / rate and carries that time.
void run::paced() {
  auto now = steady::now();
  if (now >= stop_at_) {
    stopping_ = true;
    if (inflight_ == 0) io_.stop();
    return;
  }
  auto period = std::chrono::nanoseconds(1'000'000'000 / s_.w.rate);
  while (t0_ + period * static_cast<int64_t>(next_seq_) <= now) {
    int64_t due = (period * static_cast<int64_t>(next_seq_)).count();
    ++inflight_;
    publisher_->async_publish(topic_, make(next_seq_++, due),
                              [this](ferry::error e, fc::publish_result) {
                                --inflight_;
                                ++(e ? publish_errors_ : confirmed_);
                                if (stopping_ && inflight_ == 0) io_.stop();
                              });
  }
  pace_.expires_at(t0_ + period * static_cast<int64_t>(next_seq_));
  pace_.async_wait([this](boost::system::error_code ec) {
    if (!ec) paced();
  });
}

int run::finish_and_report(const ferry::bench::broker_stats& stats) {
  uint64_t sent = next_seq_, lost = 0, dups = 0, delivered_window = 0;
  histogram lat;
  for (auto& k : sinks_) {
    for (uint64_t i = 0; i < sent; ++i)
      if (i >= k->seen.size() || k->seen[i] == 0) ++lost;
    dups += k->duplicates;
    delivered_window += k->in_window;
    lat.merge(k->latency_ns);
  }
  double rate = static_cast<double>(delivered_window) / s_.duration_s;
  auto us = [](uint64_t ns) { return static_cast<double>(ns) / 1000.0; };
  std::printf("| %s | %.0f | %.1f | %.1f | %.1f | %.1f | %.1f | %llu | %llu | %.2f | %.1f |\n",
              s_.w.name.c_str(), rate, rate * s_.w.message_bytes / 1e6, us(lat.quantile(0.5)),
              us(lat.quantile(0.99)), us(lat.quantile(0.999)), us(lat.max()),
              static_cast<unsigned long long>(lost), static_cast<unsigned long long>(dups),
              stats.cpu_seconds, stats.peak_rss_bytes / 1048576.0);
  std::fprintf(stderr,
               "{\"workload\":\"%s\",\"sent\":%llu,\"confirmed\":%llu,\"publish_errors\":%llu,"
               "\"delivered_per_s\":%.0f,\"lost\":%llu,\"duplicated\":%llu,\"broker_cpu_s\":%.3f,"
               "\"broker_peak_rss_bytes\":%llu,\"latency_ns\":{\"p50\":%llu,\"p99\":%llu,"
               "\"p999\":%llu,\"p9999\":%llu,\"max\":%llu,\"histogram\":%s}}\n",
               s_.w.name.c_str(), (unsigned long long)sent, (unsigned long long)confirmed_,
               (unsigned long long)publish_errors_, rate, (unsigned long long)lost,
               (unsigned long long)dups, stats.cpu_seconds,
               (unsigned long long)stats.peak_rss_bytes, (unsigned long long)lat.quantile(0.5),
               (unsigned long long)lat.quantile(0.99), (unsigned long long)lat.quantile(0.999),
               (unsigned long long)lat.quantile(0.9999), (unsigned long long)lat.max(),
               lat.to_json().c_str());
  return (lost == 0 && dups == 0 && publish_errors_ == 0 && !failed_) ? 0 : 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferry-bench: load and latency against ferryd"};
  std::string name = "mem-throughput-100B", broker, ferryd;
  settings s;
  uint32_t message_bytes = 0;
  bool list = false, header = false;
  app.add_option("-w,--workload", name, "Workload name (--list shows them)");
  app.add_option("--broker", broker, "HOST:PORT of a running ferryd");
  app.add_option("--ferryd", ferryd,
                 "Start this ferryd binary (loopback, temp data dir) and measure it");
  pid_t pid = 0;
  app.add_option("--broker-pid", pid, "PID of the --broker ferryd, for its CPU and memory figures");
  app.add_option("--warmup-s", s.warmup_s, "Seconds before measuring");
  app.add_option("--duration-s", s.duration_s, "Seconds measured");
  app.add_option("--window", s.window, "Unconfirmed messages in flight (max-rate workloads)");
  app.add_option("--batch", s.batch, "Messages per publish call (max-rate workloads)");
  app.add_option("--prefetch", s.prefetch, "Consumer credit window");
  app.add_option("--message-bytes", message_bytes, "Override the workload's message size (>= 16)");
  app.add_flag("--list", list, "List the workloads");
  app.add_flag("--header", header, "Print the Markdown table header first");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const auto& w : workloads)
      std::printf("%-22s %s\n", w.name.c_str(), w.description.c_str());
    return 0;
  }
  auto it = std::find_if(workloads.begin(), workloads.end(),
                         [&](const workload& w) { return w.name == name; });
  if (it == workloads.end()) {
    std::fprintf(stderr, "ferry-bench: unknown workload '%s' (see --list)\n", name.c_str());
    return 2;
  }
  s.w = *it;
  if (message_bytes != 0) s.w.message_bytes = std::max<uint32_t>(message_bytes, 16);
  if (header) {
    std::printf(
        "| workload | delivered msg/s | MB/s | p50 µs | p99 µs | p99.9 µs | max µs | lost | dup | "
        "broker CPU s | broker peak RSS MiB |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|\n");
  }

  std::unique_ptr<ferry::bench::ferryd_process> own;
  if (!ferryd.empty()) {
    own = std::make_unique<ferry::bench::ferryd_process>(ferryd);
    if (!own->ok()) return 2;
    s.host = own->host();
    s.port = own->port();
    pid = own->pid();
  } else if (!broker.empty()) {
    auto colon = broker.rfind(':');
    s.host = broker.substr(0, colon);
    s.port = static_cast<uint16_t>(std::stoi(broker.substr(colon + 1)));
  } else {
    std::fprintf(stderr, "ferry-bench: give --broker HOST:PORT or --ferryd PATH\n");
    return 2;
  }

  asio::io_context io(1);
  run r(io, s);
  auto before = ferry::bench::read_broker_stats(pid);
  r.start();
  // Bounded: the run ends by itself after warm-up + duration (+ drain).
  asio::steady_timer guard(io);
  guard.expires_after(std::chrono::seconds(static_cast<int64_t>(s.warmup_s + s.duration_s) + 30));
  guard.async_wait([&](boost::system::error_code ec) {
    if (!ec) r.fail("the run did not finish in time");
  });
  io.run();
  // Let the last deliveries arrive: run until every subscription caught up or 5 s.
  io.restart();
  guard.cancel();
  auto deadline = steady::now() + std::chrono::seconds(5);
  while (!r.drained() && steady::now() < deadline)
    io.run_for(std::chrono::milliseconds(10));
  auto after = ferry::bench::read_broker_stats(pid);
  ferry::bench::broker_stats used{after.cpu_seconds - before.cpu_seconds, after.peak_rss_bytes};
  return r.finish_and_report(used);
}
