// ferry sub PATTERN (subscribe): print each delivery's payload on its own line.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace ferry::cli {

namespace {

void print_delivery(const client::delivery& d, const sub_args& a) {
  if (a.verbose)
    std::printf("%.*s\t%u\t%llu\t", static_cast<int>(d.topic().size()), d.topic().data(),
                d.delivery_count(), static_cast<unsigned long long>(d.delivery_id()));
  print_body(d, a.cloudevents);
  std::fputc('\n', stdout);
  std::fflush(stdout);
}

}  // namespace

int run_sub(const globals& g, const sub_args& a) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  client::subscribe_options o;
  o.subscription = a.subscription;
  o.pattern = a.pattern;
  o.prefetch = a.prefetch;
  o.auto_ack = a.no_ack;
  o.create_if_missing = !a.subscription.empty();
  auto r = c->subscribe(std::move(o));
  if (!r) return fail(r.err());
  client::blocking_consumer& cons = r.value();
  std::chrono::milliseconds idle(a.timeout_ms < 0 ? -1 : a.timeout_ms);
  for (uint64_t n = 0; a.count == 0 || n < a.count; ++n) {
    auto d = cons.next(idle);
    if (!d) {
      error why = cons.closed_reason();
      return why ? fail(why) : exit_ok;  // closed by the broker, or idle for --timeout-ms
    }
    print_delivery(*d, a);
    if (a.no_ack) continue;
    if (error e = cons.ack(*d)) {
      // A delivery from before a reconnect: the broker redelivers it.
      if (e.code == errc::disconnected) continue;
      return fail(e);
    }
  }
  cons.close();
  return exit_ok;
}

void add_subscribe_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<sub_args>();
  auto* cmd = app.add_subcommand("subscribe",
                                 "subscribe to PATTERN and print payloads, one per "
                                 "line (also: ferry sub PATTERN)");
  cmd->add_option("PATTERN", a->pattern, "topic name or pattern (orders.*, orders.>)")->required();
  cmd->add_option("--subscription", a->subscription,
                  "attach to this named subscription (created on PATTERN if missing); "
                  "default: a private ephemeral one");
  cmd->add_option("--count", a->count, "exit after this many messages");
  cmd->add_option("--timeout-ms", a->timeout_ms, "exit after this long without a message")
      ->check(CLI::NonNegativeNumber);
  cmd->add_flag("--no-ack", a->no_ack, "auto-ack: messages count as consumed when sent");
  cmd->add_option("--prefetch", a->prefetch, "deliveries in flight (default: broker's)");
  cmd->add_flag("--verbose,-v", a->verbose,
                "print topic, delivery count and delivery id (tab-separated) before the payload");
  cmd->add_flag("--cloudevents", a->cloudevents,
                "print each message as a CloudEvent (JSON, structured mode) instead of its "
                "payload");
  cmd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_sub(ctx.g, *a); }; });
}

}  // namespace ferry::cli
