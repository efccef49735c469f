// ferry-bench: workloads (YAML files in bench/workloads/) against a messaging system
// through its driver (bench/driver.h): ferry, and RabbitMQ, NATS and Redis where their
// client libraries were found at build time.
//
// Per workload: one Markdown table row on stdout and one JSON line (raw histograms
// included) on stderr or appended to --json-out. With --ferryd, every workload runs
// against a fresh ferryd (loopback, temp data dir).
//
// Exit status: 0 when every run finished with nothing lost, duplicated or refused (a
// workload the system has no equivalent of counts as fine: its row says why), 1 otherwise,
// 2 on usage errors.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <memory>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <sys/prctl.h>

#include "bench/broker_stats.h"
#include "bench/driver.h"
#include "bench/idle_connections.h"
#include "bench/measurement.h"
#include "bench/page_cache.h"
#include "bench/workload.h"

namespace fb = ferry::bench;

namespace {

#ifndef FERRY_BENCH_WORKLOADS_DIR
#define FERRY_BENCH_WORKLOADS_DIR "bench/workloads"
#endif

struct options {
  std::vector<std::string> workloads;
  std::string system = "ferry", broker, ferryd, json_out, server_data_dir;
  bool restart_via_stdio = false;
  std::vector<std::string> ferryd_sets;  // KEY=VALUE for every ferryd started
  std::string tls_ca_file, user, password;
  std::string workloads_dir = FERRY_BENCH_WORKLOADS_DIR;
  pid_t server_pid = 0;
  bool list = false, header = false;
  // Timer slack of every thread of ferry-bench (PR_SET_TIMERSLACK), so that no driver's
  // pacing or polling sleeps longer than another's: 1 ns; 0 keeps the system's (50 us).
  uint64_t timer_slack_ns = 1;
};

// Command-line values that replace the workloads' own; applied only when given.
struct overrides {
  CLI::Option *warmup = nullptr, *duration = nullptr, *rate = nullptr, *bytes = nullptr,
              *catchup = nullptr, *idle = nullptr, *window = nullptr, *batch = nullptr,
              *prefetch = nullptr, *readers = nullptr, *one_thread = nullptr, *refill = nullptr,
              *idle_topics = nullptr;
  fb::workload v;  // the values
  bool one_client_thread = false;
  std::string refill_policy;
};

void add_overrides(CLI::App& app, overrides& o) {
  o.warmup = app.add_option("--warmup-s", o.v.warmup_s, "Seconds before measuring");
  o.duration = app.add_option("--duration-s", o.v.duration_s, "Seconds measured");
  o.rate = app.add_option("--rate", o.v.producer_rate,
                          "Messages/s over all producers (0 = as fast as it sustains)");
  o.bytes = app.add_option("--message-bytes", o.v.message_size, "Message size (>= 16)");
  o.catchup = app.add_option("--catchup-bytes", o.v.catchup_bytes,
                             "Bytes written before the read, in catch-up workloads");
  o.idle = app.add_option("--idle-connections", o.v.idle_connections,
                          "Idle connections, in idle-connection workloads");
  o.idle_topics =
      app.add_option("--idle-topics", o.v.idle_topics, "Idle topics, in idle-topic workloads");
  o.window = app.add_option("--window", o.v.window, "Messages in flight (max-rate workloads)");
  o.batch = app.add_option("--batch", o.v.batch, "Messages per publish call (max-rate workloads)");
  o.prefetch = app.add_option("--prefetch", o.v.prefetch, "Consumer credit window");
  o.refill = app.add_option("--refill", o.refill_policy,
                            "How a full window refills, for every driver: half (once half of "
                            "it emptied, the default) or each (as soon as a batch fits)")
                 ->check(CLI::IsMember({"half", "each"}));
  o.readers = app.add_option("--readers", o.v.subscriptions_per_topic,
                             "Subscriptions (log: readers) per topic");
  o.one_thread = app.add_flag("--one-client-thread", o.one_client_thread,
                              "ferry: every client on one thread (default: a thread per consumer)");
}

// The window also bounds bytes in flight (1 MB messages in 20,000 slots would be 20 GB),
// and a batch fits in each producer's share of it; the same for every driver.
void bound_window(fb::workload& w) {
  constexpr uint64_t max_window_bytes = uint64_t{64} << 20;
  uint64_t by_bytes =
      std::max<uint64_t>(4, max_window_bytes / std::max<uint32_t>(1, w.message_size));
  w.window = static_cast<uint32_t>(std::min<uint64_t>(w.window, by_bytes));
  uint32_t producers = std::max<uint32_t>(1, w.topics * w.producers_per_topic);
  w.batch = std::max<uint32_t>(1, std::min(w.batch, w.window / producers / 2));
}

// Returns an error naming the option, or empty.
std::string apply(const overrides& o, fb::workload& w) {
  auto given = [](const CLI::Option* opt) { return opt->count() != 0; };
  if (given(o.warmup)) w.warmup_s = o.v.warmup_s;
  if (given(o.duration)) w.duration_s = o.v.duration_s;
  if (given(o.rate)) w.producer_rate = o.v.producer_rate;
  if (given(o.bytes)) w.message_size = o.v.message_size;
  if (given(o.catchup) && w.catchup_bytes != 0) w.catchup_bytes = o.v.catchup_bytes;
  if (given(o.idle) && w.idle_connections != 0) w.idle_connections = o.v.idle_connections;
  if (given(o.idle_topics) && w.idle_topics != 0) w.idle_topics = o.v.idle_topics;
  if (given(o.window)) w.window = o.v.window;
  if (given(o.batch)) w.batch = o.v.batch;
  if (given(o.prefetch)) w.prefetch = o.v.prefetch;
  if (given(o.refill)) w.refill_half = o.refill_policy == "half";
  if (given(o.readers)) w.subscriptions_per_topic = o.v.subscriptions_per_topic;
  if (given(o.one_thread)) w.client_threads = false;
  if (w.message_size < 16) return "--message-bytes: at least 16 (sequence and timestamp)";
  if (w.duration_s <= 0 || w.warmup_s < 0) return "--duration-s, --warmup-s: positive seconds";
  if (w.window == 0 || w.batch == 0) return "--window, --batch: at least 1";
  if (w.catchup_bytes != 0 && w.producer_rate != 0)
    return "--rate: a catch-up run writes as fast as it can";
  if (w.catchup_bytes != 0 && w.subscriptions_per_topic == 0)
    return "--readers: a catch-up run needs a reader";
  bound_window(w);
  return {};
}

// NAME -> <workloads dir>/NAME.yaml; anything with a '/' or ending in .yaml is a path.
std::string resolve(const std::string& arg, const std::string& dir) {
  bool path = arg.find('/') != std::string::npos ||
              (arg.size() > 5 && arg.compare(arg.size() - 5, 5, ".yaml") == 0);
  if (path) return arg;
  std::string p = dir;
  return p.append("/").append(arg).append(".yaml");
}

void list(const options& o) {
  std::printf("workloads (%s):\n", o.workloads_dir.c_str());
  for (const auto& file : fb::workload_files(o.workloads_dir)) {
    fb::workload w;
    std::string err;
    if (fb::load_workload(file, w, err)) {
      std::printf("  %-22s %s\n", w.name.c_str(), w.description.c_str());
    } else {
      std::printf("  (invalid) %s\n", err.c_str());
    }
  }
  std::printf("systems:");
  for (const auto& n : fb::driver_names())
    std::printf(" %s", n.c_str());
  std::printf("\n");
}

// Measurement readers: every subscription (log: reader) of every topic must see every
// message of its topic; idle-connection-only workloads have none.
size_t reader_count(const fb::workload& w) {
  return w.producers_per_topic == 0 ? 0 : size_t{w.topics} * w.subscriptions_per_topic;
}

// Where the run's server is: a ferryd of our own (--ferryd) or --broker's. Empty, or why
// not.
std::string locate(const options& o, const fb::workload& w,
                   std::unique_ptr<fb::ferryd_process>& own, fb::endpoint& at) {
  at.tls_ca_file = o.tls_ca_file;
  at.user = o.user;
  at.password = o.password;
  if (o.ferryd.empty()) {
    auto colon = o.broker.rfind(':');
    at.host = o.broker.substr(0, colon);
    at.port = static_cast<uint16_t>(std::stoi(o.broker.substr(colon + 1)));
    at.server_pid = o.server_pid;
    at.data_dir = o.server_data_dir;
    return {};
  }
  std::vector<std::string> args;
  if (w.idle_connections > 9000) {
    std::string set = "limits.max_connections=";
    args = {"--set", set.append(std::to_string(w.idle_connections + 1000))};
  }
  for (const auto& kv : o.ferryd_sets)
    args.insert(args.end(), {"--set", kv});
  own = std::make_unique<fb::ferryd_process>(o.ferryd, args);
  if (!own->ok()) return "ferryd did not start";
  at.host = own->host();
  at.port = own->port();
  at.server_pid = own->pid();
  at.data_dir = own->data_dir();
  return {};
}

// Kills the server and starts it again on the same port and data: ours directly, --broker's
// by asking whoever started it (bench/compare/compare.py): "ferry-bench: restart-server" on
// stdout, answered "restarted PID" on stdin once it serves again. Empty, or why not.
std::string restart_server(const options& o, fb::ferryd_process* own, fb::endpoint& at) {
  if (own != nullptr) {
    if (!own->restart()) return "ferryd did not start again";
    at.server_pid = own->pid();
    return {};
  }
  if (!o.restart_via_stdio)
    return "a restart needs --ferryd, or --restart-via-stdio with whoever started the server";
  std::printf("ferry-bench: restart-server\n");
  std::fflush(stdout);
  std::string line;
  pid_t pid = 0;
  const bool answered = static_cast<bool>(std::getline(std::cin, line));
  const char* end = line.data() + line.size();
  if (!answered || line.rfind("restarted ", 0) != 0 ||
      std::from_chars(line.data() + 10, end, pid).ptr != end || pid <= 0)
    return "the server was not restarted: expected \"restarted PID\", got \"" + line + "\"";
  at.server_pid = pid;
  return {};
}

// What happens between a catch-up run's writing and its reading: a restart, a cold page
// cache. A failure lands in `error`.
void plan_catchup(const options& o, const fb::workload& w, fb::ferryd_process* own,
                  fb::endpoint& at, fb::measurement& m, std::string& error) {
  if (!w.restart && !w.cold_read) return;
  m.before_catchup([&o, &w, own, &at, &m, &error] {
    if (w.restart) {
      auto t0 = std::chrono::steady_clock::now();
      error = restart_server(o, own, at);
      m.restarted(std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count());
      if (!error.empty()) return;
    }
    if (w.cold_read) {
      auto drop = fb::drop_page_cache(at.data_dir);
      m.cache_dropped(drop.file_bytes, drop.resident_bytes);
      if (!drop.error.empty()) error = "cold read: " + drop.error;
    }
  });
}

// One workload against the system; the result carries any failure in `error`.
fb::measurement::result run_one(const options& o, fb::driver& d, const fb::workload& w) {
  fb::measurement m(w, reader_count(w));
  auto failed = [&](const std::string& why) {
    auto r = m.finish(d.name(), 0, 0);
    r.error = why;
    return r;
  };
  if (auto why = d.unsupported(w); !why.empty()) {
    auto r = m.finish(d.name(), 0, 0);
    r.unsupported = why;
    return r;
  }
  fb::endpoint at;
  std::unique_ptr<fb::ferryd_process> own;
  if (auto why = locate(o, w, own, at); !why.empty()) return failed(why);
  if (w.cold_read && at.data_dir.empty())
    return failed("a cold read needs the server's data dir (--server-data-dir, or --ferryd)");
  std::string between;  // what plan_catchup's step between writing and reading failed with
  plan_catchup(o, w, own.get(), at, m, between);
  if (w.idle_topics != 0) {
    auto rss = fb::read_broker_stats(at.server_pid).rss_bytes;
    if (auto e = d.create_idle_topics(w, at)) return failed("idle topics: " + e.message);
    std::this_thread::sleep_for(fb::idle_settle);
    m.idle_topics(w.idle_topics, static_cast<int64_t>(rss),
                  static_cast<int64_t>(fb::read_broker_stats(at.server_pid).rss_bytes));
  }
  const pid_t first_pid = at.server_pid;
  auto before = fb::read_broker_stats(at.server_pid);
  auto e = d.run(w, at, m);
  auto after = fb::read_broker_stats(at.server_pid);
  // A restarted server's figures are its second process's alone.
  double cpu = after.cpu_seconds - (at.server_pid == first_pid ? before.cpu_seconds : 0);
  auto r = m.finish(d.name(), cpu, after.peak_rss_bytes);
  r.equivalence = d.equivalence(w);
  if (w.kind == fb::topic_kind::memory && w.catchup_bytes != 0 && r.sent != 0 &&
      after.peak_rss_bytes > before.rss_bytes)
    r.bytes_per_message =
        static_cast<double>(after.peak_rss_bytes - before.rss_bytes) / static_cast<double>(r.sent);
  if (!between.empty())
    r.error = between;
  else if (e)
    r.error = e.message.empty() ? e.to_string() : e.message;
  return r;
}

bool passed(const fb::measurement::result& r) {
  if (!r.unsupported.empty()) return true;
  return r.error.empty() && r.lost == 0 && r.duplicated == 0 && r.publish_errors == 0;
}

// The workloads the arguments name, with the overrides applied; false (said why) if one
// cannot be read.
bool load_all(const options& o, const overrides& ov, std::vector<fb::workload>& todo) {
  for (const auto& arg : o.workloads) {
    fb::workload w;
    std::string err;
    if (!fb::load_workload(resolve(arg, o.workloads_dir), w, err)) {
      std::fprintf(stderr, "ferry-bench: %s\n", err.c_str());
      return false;
    }
    if (auto why = apply(ov, w); !why.empty()) {
      std::fprintf(stderr, "ferry-bench: %s\n", why.c_str());
      return false;
    }
    todo.push_back(std::move(w));
  }
  return true;
}

// Why these arguments cannot run together, or empty.
std::string conflicts(const options& o, const overrides& ov, bool have_work) {
  if (ov.one_client_thread && o.system != "ferry")
    return "--one-client-thread is for --system ferry";
  if (have_work && o.ferryd.empty() && o.broker.rfind(':') == std::string::npos)
    return "give --broker HOST:PORT or --ferryd PATH";
  if (!o.ferryd.empty() && o.system != "ferry") return "--ferryd is for --system ferry";
  return {};
}

// Runs every workload, one line of Markdown each (JSON to `json` or stderr); whether all
// passed.
bool run_all(const options& o, fb::driver& drv, const std::vector<fb::workload>& todo,
             std::ofstream* json) {
  bool ok = true;
  for (const auto& w : todo) {
    auto r = run_one(o, drv, w);
    std::printf("%s\n", fb::to_markdown(r).c_str());
    std::fflush(stdout);
    if (json != nullptr) {
      *json << fb::to_json(r) << '\n' << std::flush;
    } else {
      std::fprintf(stderr, "%s\n", fb::to_json(r).c_str());
    }
    if (!r.error.empty())
      std::fprintf(stderr, "ferry-bench: %s on %s failed: %s\n", w.name.c_str(), r.system.c_str(),
                   r.error.c_str());
    ok = passed(r) && ok;
  }
  return ok;
}

void add_options(CLI::App& app, options& o) {
  app.add_option("-w,--workload", o.workloads,
                 "Workload name (in the workloads dir) or YAML file; repeatable");
  app.add_option("--system", o.system, "System to measure (--list shows those built in)");
  app.add_option("--broker", o.broker, "HOST:PORT of a running server");
  app.add_option("--server-pid,--broker-pid", o.server_pid,
                 "PID of the --broker server, for its CPU and memory figures");
  app.add_option("--server-data-dir", o.server_data_dir,
                 "The --broker server's data directory (cold reads drop its page cache)");
  app.add_flag("--restart-via-stdio", o.restart_via_stdio,
               "Restart runs: ask for the --broker server's restart on stdout, wait for "
               "\"restarted PID\" on stdin");
  app.add_option("--ferryd", o.ferryd,
                 "Start this ferryd binary for each workload (loopback, temp data dir)");
  app.add_option("--workloads-dir", o.workloads_dir, "Where workload names are looked up");
  app.add_option("--ferryd-set", o.ferryd_sets,
                 "KEY=VALUE given to every ferryd started (--set), e.g. tls.enabled=true");
  app.add_option("--tls-ca-file", o.tls_ca_file,
                 "ferry clients connect with TLS, trusting this CA");
  app.add_option("--user", o.user, "ferry clients log in as this user (SCRAM-SHA-256)");
  app.add_option("--password", o.password, "its password");
  app.add_option("--json-out", o.json_out, "Append the JSON lines to this file (default: stderr)");
  app.add_option("--timer-slack-ns", o.timer_slack_ns,
                 "Timer slack of every ferry-bench thread, the same for every driver's pacing "
                 "(0: the system's 50 us)")
      ->capture_default_str();
  app.add_flag("--list", o.list, "List the workloads and systems");
  app.add_flag("--header", o.header, "Print the Markdown table header first");
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferry-bench: workloads against ferry (and peers) with honest latency"};
  options o;
  overrides ov;
  add_options(app, o);
  add_overrides(app, ov);
  CLI11_PARSE(app, argc, argv);

  if (o.list) {
    list(o);
    return 0;
  }
  std::vector<fb::workload> todo;
  if (!load_all(o, ov, todo)) return 2;
  auto drv = fb::make_driver(o.system);
  std::string why = conflicts(o, ov, !todo.empty());
  if (why.empty() && drv == nullptr) why = "no driver '" + o.system + "' (see --list)";
  if (!why.empty()) {
    std::fprintf(stderr, "ferry-bench: %s\n", why.c_str());
    return 2;
  }
  if (o.header) std::printf("%s\n", fb::markdown_header().c_str());
  std::fflush(stdout);
  fb::raise_open_files_limit();  // before starting ferryd: it inherits the limit
  // Before any thread starts: threads inherit it. ppoll (RabbitMQ and Redis pacing), epoll
  // (Asio: ferry) and cnats's waits then all wake when asked, not up to 50 us later.
  if (o.timer_slack_ns != 0 && ::prctl(PR_SET_TIMERSLACK, o.timer_slack_ns, 0, 0, 0) != 0)
    std::fprintf(stderr, "ferry-bench: PR_SET_TIMERSLACK failed; pacing keeps 50 us of slack\n");

  std::unique_ptr<std::ofstream> json_file;
  if (!o.json_out.empty()) {
    json_file = std::make_unique<std::ofstream>(o.json_out, std::ios::app);
    if (!*json_file) {
      std::fprintf(stderr, "ferry-bench: cannot write %s\n", o.json_out.c_str());
      return 2;
    }
  }
  return run_all(o, *drv, todo, json_file.get()) ? 0 : 1;
}
