// ferry consume TOPIC: read a log topic, one record payload per line.
//
// Without --group and --partition it reads every partition (from --from); --partition
// picks partitions; --group joins a consumer group (starting where the group committed,
// else at --from) and commits what it printed before exiting. With --group and
// --partition, the partitions are read as given and the offsets committed to the group.
// --subscription reads through a shared subscription instead (PROTOCOL.md 9.9): records
// compete among its consumers and each one printed is acked.
#include <charconv>
#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace ferry::cli {

namespace {

struct consume_args {
  std::string topic;
  std::string group;
  std::string subscription;
  std::string from = "earliest";
  std::vector<uint32_t> partitions;
  uint64_t count = 0;       // 0 = no limit
  int64_t timeout_ms = -1;  // idle timeout; -1 = wait forever
  uint32_t credit = 0;
  bool verbose = false;
  bool cloudevents = false;
};

void print_record(const client::delivery& d, const consume_args& a) {
  if (a.verbose)
    std::printf("%u\t%llu\t", d.partition(), static_cast<unsigned long long>(d.offset()));
  print_body(d, a.cloudevents);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

int run_consume(const globals& g, const consume_args& a) {
  if (!a.subscription.empty()) {
    sub_args s;
    s.pattern = a.topic;
    s.subscription = a.subscription;
    s.count = a.count;
    s.timeout_ms = a.timeout_ms;
    s.prefetch = a.credit;
    s.verbose = a.verbose;
    s.cloudevents = a.cloudevents;
    return run_sub(g, s);
  }
  v1::Position start;
  if (!parse_position(a.from, start))
    return usage_error("--from must be earliest, latest, offset:N or time:UNIX_MS, got '" + a.from +
                       "'");
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  client::consume_options o;
  o.topic = a.topic;
  o.group = a.group;
  o.default_start = start;
  for (uint32_t p : a.partitions)
    o.partitions.emplace_back(p, start);
  // Not much more than asked for is fetched (a group member commits only what it printed).
  o.credit = a.credit != 0  ? a.credit
             : a.count != 0 ? static_cast<uint32_t>(std::min<uint64_t>(a.count, 1000))
                            : 1000;
  auto r = c->consume(std::move(o));
  if (!r) return fail(r.err());
  client::blocking_log_consumer& reader = r.value();
  std::chrono::milliseconds idle(a.timeout_ms < 0 ? -1 : a.timeout_ms);
  for (uint64_t n = 0; a.count == 0 || n < a.count; ++n) {
    auto d = reader.next(idle);
    if (!d) {
      error why = reader.closed_reason();
      if (why) return fail(why);  // closed by the broker (e.g. the topic was deleted)
      break;                      // idle for --timeout-ms
    }
    print_record(*d, a);
  }
  if (!a.group.empty()) {
    if (error e = reader.commit()) return fail(e);
  }
  reader.close();
  return exit_ok;
}

}  // namespace

void add_consume_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<consume_args>();
  auto* cmd = app.add_subcommand("consume", "read a log topic and print payloads, one per line");
  cmd->add_option("TOPIC", a->topic, "log topic to read")->required();
  cmd->add_option("--group", a->group,
                  "join this consumer group (commits what was printed before exiting)");
  cmd->add_option("--subscription", a->subscription,
                  "read through this shared subscription (created on TOPIC if missing): "
                  "records compete among its consumers, each one printed is acked")
      ->excludes("--group");
  cmd->add_option("--from", a->from,
                  "where to start without a committed offset: earliest, latest, offset:N, "
                  "time:UNIX_MS")
      ->capture_default_str();
  cmd->add_option("--partition", a->partitions,
                  "read this partition (repeatable); default: all of them, or the group's "
                  "assignment")
      ->allow_extra_args(false)
      ->excludes("--subscription");
  cmd->add_option("--count", a->count, "exit after this many records");
  cmd->add_option("--timeout-ms", a->timeout_ms, "exit after this long without a record")
      ->check(CLI::NonNegativeNumber);
  cmd->add_option("--credit", a->credit, "records fetched ahead (default: min(--count, 1000))");
  cmd->add_flag("--verbose,-v", a->verbose,
                "print partition and offset (tab-separated) before the payload");
  cmd->add_flag("--cloudevents", a->cloudevents,
                "print each record as a CloudEvent (JSON, structured mode) instead of its payload");
  cmd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_consume(ctx.g, *a); }; });
}

}  // namespace ferry::cli
