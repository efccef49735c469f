// ferry-audit: the example's audit service. Consumes `user.login` events through the named
// subscription `audit` and, for each, appends one JSON line to --out, flushes and
// fdatasyncs it, and only then acks: an event is acked once it is on disk. An event seen
// before (same CloudEvent id and source: a redelivery after a crash between the write and
// the ack, or a publisher's retry) is acked without being written again, so the file holds
// each event once. The ids already in the file are read at start.
//
//   ferry-audit [--broker HOST:PORT] [--topic T] [--subscription S] --out FILE [--expect N]
// --expect N exits 0 once the file holds N events; otherwise it runs until SIGTERM.
#include <chrono>
#include <cstdio>
#include <fstream>
#include <set>
#include <string>
#include <thread>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>
#include <unistd.h>

#include "examples/service.h"

using namespace ferry;
using namespace std::chrono_literals;

namespace {

using event_key = std::pair<std::string, std::string>;  // (source, id)

std::set<event_key> read_seen(const std::string& path) {
  std::set<event_key> seen;
  std::ifstream in(path);
  for (std::string line; std::getline(in, line);) {
    boost::system::error_code ec;
    auto v = boost::json::parse(line, ec);
    if (ec || !v.is_object()) continue;  // a line torn by a crash: its event comes again
    const auto& o = v.as_object();
    const auto* id = o.if_contains("id");
    const auto* source = o.if_contains("source");
    if (id && source && id->is_string() && source->is_string())
      seen.emplace(std::string(source->as_string()), std::string(id->as_string()));
  }
  return seen;
}

std::string audit_line(const client::delivery& d) {
  const auto& f = d.fields();
  boost::json::object o;
  o["id"] = f.id;
  o["source"] = f.source;
  o["type"] = f.type;
  o["subject"] = f.subject;
  o["time_ms"] = f.time_ms;
  o["delivery_count"] = d.delivery_count();
  o["data"] = d.payload();
  return boost::json::serialize(o) + "\n";
}

}  // namespace

int main(int argc, char** argv) {
  std::string broker = "127.0.0.1:7411", topic = "user.login", subscription = "audit", out;
  uint64_t expect = 0;
  CLI::App app{"ferry-audit: writes every user.login event to an audit file", "ferry-audit"};
  app.add_option("--broker", broker, "broker HOST:PORT")->envname("FERRY_BROKER");
  app.add_option("--topic", topic, "topic the subscription takes")->envname("AUDIT_TOPIC");
  app.add_option("--subscription", subscription, "named subscription to consume");
  app.add_option("--out", out, "audit file (JSON lines)")->envname("AUDIT_OUT")->required();
  app.add_option("--expect", expect, "exit once the file holds this many events")
      ->envname("AUDIT_EXPECT");
  CLI11_PARSE(app, argc, argv);
  client::client_options opts;
  opts.client_id = "audit-service";
  if (!examples::set_broker(opts, broker)) {
    std::fprintf(stderr, "ferry-audit: --broker HOST:PORT, please\n");
    return 2;
  }
  examples::stop_on_signals();
  auto seen = read_seen(out);
  std::FILE* file = std::fopen(out.c_str(), "a");
  if (!file) {
    std::perror(("ferry-audit: " + out).c_str());
    return 1;
  }

  auto c = examples::connect_and_declare(opts, topic, subscription, "ferry-audit");
  if (!c) return 1;
  client::subscribe_options so;
  so.subscription = subscription;
  so.prefetch = 100;
  auto consumer = c->subscribe(so);
  if (!consumer) {
    std::fprintf(stderr, "ferry-audit: %s\n", consumer.err().to_string().c_str());
    return 1;
  }

  while (!examples::stop_requested && (expect == 0 || seen.size() < expect)) {
    auto d = consumer.value().next(200ms);
    if (!d) continue;
    const auto& f = d->fields();
    if (seen.emplace(std::string(f.source), std::string(f.id)).second) {
      const std::string line = audit_line(*d);
      if (std::fwrite(line.data(), 1, line.size(), file) != line.size() || std::fflush(file) != 0 ||
          ::fdatasync(::fileno(file)) != 0) {
        std::perror("ferry-audit: write");
        return 1;  // not acked: redelivered to the next audit service
      }
    }
    // An ack lost with the connection is no loss: the event comes again and is recognised.
    if (auto err = consumer.value().ack(*d))
      std::fprintf(stderr, "ferry-audit: ack: %s\n", err.to_string().c_str());
  }
  std::fclose(file);
  consumer.value().close();
  std::printf("audited %zu events\n", seen.size());
  return 0;
}
