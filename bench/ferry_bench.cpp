// ferry-bench: load against ferryd through libferry, with honest latency.
//
// One process, one thread for every client connection, so on a 2-core machine the broker
// gets the other core. Max-rate publishers keep a window of messages not yet received by
// the slowest reader; fixed-rate publishers are open loop and stamp each message with its
// *intended* send time, so a stall shows as latency, not as a lower rate (no coordinated
// omission). Every message carries a sequence number and every reader checks it saw each
// exactly once.
//
// Exit status: 0 when nothing was lost or duplicated, 1 otherwise, 2 on usage errors.
#include <cstdio>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "bench/broker_stats.h"
#include "bench/run.h"
#include "bench/workload.h"

namespace asio = boost::asio;
namespace fb = ferry::bench;

int main(int argc, char** argv) {
  CLI::App app{"ferry-bench: load and latency against ferryd"};
  std::string name = "mem-throughput-100B", broker, ferryd;
  fb::settings s;
  uint32_t message_bytes = 0;
  uint64_t catchup_bytes = 0;
  int readers = -1;
  pid_t pid = 0;
  bool list = false, header = false;
  app.add_option("-w,--workload", name, "Workload name (--list shows them)");
  app.add_option("--broker", broker, "HOST:PORT of a running ferryd");
  app.add_option("--broker-pid", pid, "PID of the --broker ferryd, for its CPU and memory figures");
  app.add_option("--ferryd", ferryd,
                 "Start this ferryd binary (loopback, temp data dir) and measure it");
  app.add_option("--warmup-s", s.warmup_s, "Seconds before measuring");
  app.add_option("--duration-s", s.duration_s, "Seconds measured");
  app.add_option("--window", s.window, "Messages in flight (max-rate workloads)");
  app.add_option("--batch", s.batch, "Messages per publish call (max-rate workloads)");
  app.add_option("--prefetch", s.prefetch, "Reader credit window");
  app.add_option("--message-bytes", message_bytes, "Override the workload's message size (>= 16)");
  app.add_option("--catchup-bytes", catchup_bytes,
                 "Override the bytes written before a catch-up read");
  app.add_option("--readers", readers, "Override the number of subscriptions / log readers");
  app.add_flag("--list", list, "List the workloads");
  app.add_flag("--header", header, "Print the Markdown table header first");
  CLI11_PARSE(app, argc, argv);

  if (list) {
    for (const auto& w : fb::workloads())
      std::printf("%-22s %s\n", w.name.c_str(), w.description.c_str());
    return 0;
  }
  const fb::workload* w = fb::find_workload(name);
  if (w == nullptr) {
    std::fprintf(stderr, "ferry-bench: unknown workload '%s' (see --list)\n", name.c_str());
    return 2;
  }
  s.w = *w;
  if (message_bytes != 0) s.w.message_bytes = std::max<uint32_t>(message_bytes, 16);
  if (catchup_bytes != 0 && s.w.catchup_bytes != 0) s.w.catchup_bytes = catchup_bytes;
  if (readers >= 0) s.w.subscriptions = static_cast<uint32_t>(readers);
  if (header) {
    std::printf(
        "| workload | acked msg/s | delivered msg/s | MB/s | ack p50 µs | ack p99 µs | ack p99.9 "
        "µs "
        "| e2e p50 µs | e2e p99 µs | e2e p99.9 µs | e2e max µs | lost | dup | broker CPU s "
        "| broker peak RSS MiB |\n");
    std::printf("|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n");
  }

  std::unique_ptr<fb::ferryd_process> own;
  if (!ferryd.empty()) {
    own = std::make_unique<fb::ferryd_process>(ferryd);
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
  fb::run r(io, s);
  auto before = fb::read_broker_stats(pid);
  r.start();
  // Bounded: the run ends by itself; catch-up runs write and read a lot first.
  asio::steady_timer guard(io);
  int64_t limit =
      static_cast<int64_t>(s.warmup_s + s.duration_s) + (s.w.catchup_bytes != 0 ? 600 : 30);
  guard.expires_after(std::chrono::seconds(limit));
  guard.async_wait([&](boost::system::error_code ec) {
    if (!ec) r.fail("the run did not finish in time");
  });
  io.run();
  // Let the last deliveries arrive: until every reader caught up, or 5 s.
  io.restart();
  guard.cancel();
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (!r.drained() && std::chrono::steady_clock::now() < deadline)
    io.run_for(std::chrono::milliseconds(10));
  auto after = fb::read_broker_stats(pid);
  return r.report({after.cpu_seconds - before.cpu_seconds, after.peak_rss_bytes});
}
