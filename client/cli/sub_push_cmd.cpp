// ferry sub push NAME --url URL [...] | --remove: a subscription's push endpoint (the
// broker POSTs each message to it as a CloudEvent). The same flags, prefixed push-, make
// `ferry sub create` create a push subscription.
#include <cstdio>

#include "client/cli/common.h"
#include "client/cli/push_options.h"

namespace ferry::cli {

void add_push_options(CLI::App* cmd, push_args& a, const std::string& prefix) {
  const std::string p = "--" + prefix;
  cmd->add_option(p + "url", a.url, "POST each message to this http:// URL, as a CloudEvent");
  cmd->add_option(p + "header", a.headers, "NAME=VALUE sent with each request (repeatable)")
      ->allow_extra_args(false);
  cmd->add_option(p + "timeout-ms", a.timeout_ms, "one request's deadline (default 10000)");
  cmd->add_option(p + "max-in-flight", a.max_in_flight, "requests at once (default 16)");
  cmd->add_option(p + "min-backoff-ms", a.min_backoff_ms, "first retry's delay (default 100)");
  cmd->add_option(p + "max-backoff-ms", a.max_backoff_ms, "longest retry delay (default 60000)");
  cmd->add_flag(p + "structured", a.structured,
                "CloudEvents structured mode (JSON) instead of binary mode");
}

bool fill_push(const push_args& a, v1::PushEndpoint& out) {
  out.set_url(a.url);
  for (const auto& h : a.headers) {
    const auto eq = h.find('=');
    if (eq == std::string::npos || eq == 0) {
      usage_error("a push header is NAME=VALUE, not '" + h + "'");
      return false;
    }
    auto* added = out.add_headers();
    added->set_name(h.substr(0, eq));
    added->set_value(h.substr(eq + 1));
  }
  out.set_timeout_ms(a.timeout_ms);
  out.set_max_in_flight(a.max_in_flight);
  out.set_min_backoff_ms(a.min_backoff_ms);
  out.set_max_backoff_ms(a.max_backoff_ms);
  out.set_structured(a.structured);
  return true;
}

namespace {

struct sub_push_args {
  std::string name;
  push_args push;
  bool remove = false;
};

int run_sub_push(const globals& g, const sub_push_args& a) {
  if (a.remove == !a.push.url.empty()) return usage_error("give either --url URL or --remove");
  v1::SetSubscriptionPush req;
  req.set_name(a.name);
  if (!a.remove && !fill_push(a.push, *req.mutable_push())) return exit_usage;
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->set_subscription_push(req);
  return r ? exit_ok : fail(r.err());
}

}  // namespace

void add_sub_push_command(CLI::App& sub, context& ctx) {
  auto a = std::make_shared<sub_push_args>();
  auto* cmd = sub.add_subcommand("push", "set, change or remove a subscription's push endpoint");
  cmd->add_option("NAME", a->name, "subscription name")->required();
  add_push_options(cmd, a->push, "");
  cmd->add_flag("--remove", a->remove, "remove the endpoint: consumers pull again");
  cmd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_sub_push(ctx.g, *a); }; });
}

}  // namespace ferry::cli
