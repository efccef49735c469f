// ferry request TOPIC MESSAGE: publish a request and print the reply's payload.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace ferry::cli {

namespace {

struct request_args {
  std::string topic;
  std::string message;
  int64_t timeout_ms = 0;  // 0 = --timeout-ms of the command line's globals
};

int run_request(const globals& g, const request_args& a) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto timeout = std::chrono::milliseconds(a.timeout_ms > 0 ? a.timeout_ms : g.timeout_ms);
  auto r = c->request(a.topic, client::message(a.message), timeout);
  if (!r) return fail(r.err());
  std::fwrite(r->payload.data(), 1, r->payload.size(), stdout);
  std::fputc('\n', stdout);
  return exit_ok;
}

}  // namespace

void add_request_command(CLI::App& app, context& ctx) {
  auto a = std::make_shared<request_args>();
  auto* cmd = app.add_subcommand("request", "publish MESSAGE as a request and print the reply");
  cmd->add_option("TOPIC", a->topic, "topic to send the request to")->required();
  cmd->add_option("MESSAGE", a->message, "request payload")->required();
  cmd->add_option("--timeout-ms", a->timeout_ms, "how long to wait for the reply")
      ->check(CLI::PositiveNumber);
  cmd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_request(ctx.g, *a); }; });
}

}  // namespace ferry::cli
