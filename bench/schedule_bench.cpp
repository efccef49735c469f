// ferry-schedule-bench: how on time delayed delivery is (PROTOCOL.md 5.7), and what a
// waiting message costs the broker in memory. First `--waiting` messages are scheduled
// far ahead (an hour) and ferryd's RSS is read before and after (/proc, `--server-pid`);
// then `--rate` delayed messages a second, each due `--delay-ms` after it is sent, for
// `--seconds`, while a consumer of the topic's subscription notes how long after its due
// time (the not_before_ms the broker sets) each one arrived. Prints one Markdown row.
//   ferry-schedule-bench --broker 127.0.0.1:7411 --server-pid PID [--waiting 1000000]
//                        [--rate 10000] [--seconds 10] [--delay-ms 1000]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "bench/publish_window.h"
#include "ferry/client/blocking_client.h"

namespace fc = ferry::client;
using namespace std::chrono_literals;

namespace {

int64_t wall_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

uint64_t rss_bytes(int pid) {
  std::ifstream in("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stoull(line.substr(6)) * 1024;
  return 0;
}

// Publishes `count` messages due `delay_ms` after sending, `rate` a second (0: at once).
size_t publish(fc::blocking_client& c, const std::string& topic, size_t count, int64_t delay_ms,
               size_t rate) {
  return ferry::bench::publish_window(c, topic, count, 5000, rate, [&](size_t) {
    fc::message msg("scheduled");
    msg.delay = std::chrono::milliseconds(delay_ms);
    return msg;
  });
}

double pct(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return static_cast<double>(v[i]);
}

// Consumes `expected` messages of the subscription `topic` while they are published; how
// late each arrived after its due time (ms), and how many publishes failed.
std::vector<int64_t> measure(fc::blocking_client& c, const std::string& topic, size_t rate,
                             size_t seconds, int64_t delay_ms, size_t& failed) {
  fc::subscribe_options so;
  so.subscription = topic;
  so.prefetch = 10'000;
  so.auto_ack = true;
  auto sub = c.subscribe(so);
  std::vector<int64_t> late;
  if (!sub) return late;
  late.reserve(rate * seconds);
  std::thread consumer([&] {
    while (late.size() < rate * seconds)
      if (auto d = sub.value().next(5s)) {
        late.push_back(wall_ms() - d->fields().not_before_ms);
      } else {
        break;
      }
  });
  failed = publish(c, topic, rate * seconds, delay_ms, rate);
  consumer.join();
  return late;
}

bool create(fc::blocking_client& c, const std::string& topic, bool subscribed) {
  ferry::v1::CreateTopic t;
  t.set_name(topic);
  ferry::v1::CreateSubscription s;
  s.set_name(topic);
  s.set_pattern(topic);
  return c.create_topic(t) && (!subscribed || c.create_subscription(s));
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"delayed delivery: lateness and memory per waiting message"};
  std::string broker = "127.0.0.1:7411";
  int pid = 0;
  size_t waiting = 1'000'000, rate = 10'000, seconds = 10;
  int64_t delay_ms = 1000;
  app.add_option("--broker", broker);
  app.add_option("--server-pid", pid)->required();
  app.add_option("--waiting", waiting);
  app.add_option("--rate", rate);
  app.add_option("--seconds", seconds);
  app.add_option("--delay-ms", delay_ms);
  CLI11_PARSE(app, argc, argv);

  fc::client_options co;
  co.host = broker.substr(0, broker.rfind(':'));
  co.port = static_cast<uint16_t>(std::stoi(broker.substr(broker.rfind(':') + 1)));
  auto connected = fc::blocking_client::connect(co);
  if (!connected) {
    std::fprintf(stderr, "connect: %s\n", connected.err().to_string().c_str());
    return 1;
  }
  auto& c = *connected.value();
  const std::string topic = "bench.schedule." + std::to_string(::getpid());
  if (!create(c, topic, true) || !create(c, topic + ".far", false)) return 1;
  std::this_thread::sleep_for(1s);
  const uint64_t rss_before = rss_bytes(pid);
  if (publish(c, topic + ".far", waiting, 3'600'000, 0) != 0) return 1;
  std::this_thread::sleep_for(2s);
  const uint64_t rss_after = rss_bytes(pid);
  size_t failed = 0;
  auto late = measure(c, topic, rate, seconds, delay_ms, failed);
  const double per_waiting =
      waiting == 0 ? 0.0
                   : (static_cast<double>(rss_after) - static_cast<double>(rss_before)) /
                         static_cast<double>(waiting);
  const auto got = late.size();
  std::printf(
      "| %zu/s for %zu s, due %lld ms after sending, %zu waiting | %.0f | %.0f | %.0f | "
      "%lld | %.1f | %zu of %zu |\n",
      rate, seconds, static_cast<long long>(delay_ms), waiting, pct(late, 0.5), pct(late, 0.99),
      pct(late, 0.999), static_cast<long long>(pct(late, 1.0)), per_waiting, got,
      rate * seconds - failed);
  return got == rate * seconds ? 0 : 2;
}
