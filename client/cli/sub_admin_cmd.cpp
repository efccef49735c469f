// ferry sub create|list|describe|delete (subscription management; `ferry sub PATTERN`
// subscribes, see sub_cmd.cpp).
#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"
#include "client/cli/push_options.h"

namespace ferry::cli {

namespace {

struct create_args {
  std::string pattern, name;
  uint32_t max_deliveries = 0;
  uint32_t ack_timeout_ms = 0;
  uint64_t max_messages = 0;
  uint64_t max_bytes = 0;
  std::string overflow = "drop-oldest";
  std::string dead_letter_topic;
  bool if_not_exists = false;
  push_args push;
};

using u64 = unsigned long long;

int run_create(const globals& g, const create_args& a) {
  v1::CreateSubscription req;
  req.set_name(a.name);
  req.set_pattern(a.pattern);
  req.set_if_not_exists(a.if_not_exists);
  auto* o = req.mutable_options();
  o->set_max_deliveries(a.max_deliveries);
  o->set_ack_timeout_ms(a.ack_timeout_ms);
  o->set_max_messages(a.max_messages);
  o->set_max_bytes(a.max_bytes);
  o->set_overflow(a.overflow == "reject-publish" ? v1::REJECT_PUBLISH : v1::DROP_OLDEST);
  o->set_dead_letter_topic(a.dead_letter_topic);
  if (!a.push.url.empty() && !fill_push(a.push, *o->mutable_push())) return exit_usage;
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->create_subscription(req);
  return r ? exit_ok : fail(r.err());
}

// name, pattern, ready, unacked, consumers: one line per subscription.
int run_list(const globals& g, const std::string& pattern) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  v1::ListSubscriptions req;
  req.set_pattern(pattern);
  auto r = c->list_subscriptions(req);
  if (!r) return fail(r.err());
  for (const auto& s : r->subscriptions())
    std::printf("%s\t%s\tready=%llu\tunacked=%llu\tconsumers=%u%s\n", s.name().c_str(),
                s.pattern().c_str(), static_cast<u64>(s.ready()), static_cast<u64>(s.unacked()),
                s.consumers(), s.ephemeral() ? "\tephemeral" : "");
  return exit_ok;
}

int run_describe(const globals& g, const std::string& name) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->describe_subscription(name);
  if (!r) return fail(r.err());
  const auto& s = r.value();
  const auto& o = s.options();
  std::printf("name: %s\npattern: %s\nephemeral: %s\n", s.name().c_str(), s.pattern().c_str(),
              s.ephemeral() ? "true" : "false");
  std::printf("ready: %llu\nready_bytes: %llu\nunacked: %llu\nconsumers: %u\n",
              static_cast<u64>(s.ready()), static_cast<u64>(s.ready_bytes()),
              static_cast<u64>(s.unacked()), s.consumers());
  std::printf("delivered: %llu\nacked: %llu\nredelivered: %llu\ndead_lettered: %llu\n",
              static_cast<u64>(s.delivered()), static_cast<u64>(s.acked()),
              static_cast<u64>(s.redelivered()), static_cast<u64>(s.dead_lettered()));
  std::printf("dropped: %llu\nexpired: %llu\n", static_cast<u64>(s.dropped()),
              static_cast<u64>(s.expired()));
  std::printf("max_deliveries: %u\nack_timeout_ms: %u\nmax_messages: %llu\nmax_bytes: %llu\n",
              o.max_deliveries(), o.ack_timeout_ms(), static_cast<u64>(o.max_messages()),
              static_cast<u64>(o.max_bytes()));
  std::printf("overflow: %s\ndead_letter_topic: %s\n",
              o.overflow() == v1::REJECT_PUBLISH ? "reject-publish" : "drop-oldest",
              o.dead_letter_topic().c_str());
  if (o.has_push()) {
    const auto& p = s.push();
    std::printf("push_url: %s\npush_mode: %s\npush_in_flight: %u\n", o.push().url().c_str(),
                o.push().structured() ? "structured" : "binary", p.in_flight());
    std::printf("push_succeeded: %llu\npush_failed: %llu\npush_last_status: %u\n",
                static_cast<u64>(p.succeeded()), static_cast<u64>(p.failed()), p.last_status());
    std::printf("push_mean_latency_us: %llu\npush_last_error: %s\n",
                static_cast<u64>(p.answered() ? p.latency_us_total() / p.answered() : 0),
                p.last_error().c_str());
  }
  return exit_ok;
}

int run_delete(const globals& g, const std::string& name, bool if_exists) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  v1::DeleteSubscription req;
  req.set_name(name);
  req.set_if_exists(if_exists);
  auto r = c->delete_subscription(req);
  return r ? exit_ok : fail(r.err());
}

int run_purge(const globals& g, const std::string& name) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->purge_subscription(name);
  if (!r) return fail(r.err());
  std::printf("purged %llu\n", static_cast<u64>(r->purged()));
  return exit_ok;
}

void add_create(CLI::App& sub, context& ctx) {
  auto a = std::make_shared<create_args>();
  auto* cmd = sub.add_subcommand("create", "create a durable subscription");
  cmd->add_option("PATTERN", a->pattern, "topic name or pattern (orders.*, orders.>)")->required();
  cmd->add_option("NAME", a->name, "subscription name")->required();
  cmd->add_option("--max-deliveries", a->max_deliveries, "dead-letter after this many deliveries");
  cmd->add_option("--ack-timeout-ms", a->ack_timeout_ms, "lease of each delivery");
  cmd->add_option("--max-messages", a->max_messages, "ready messages kept (0 unlimited)");
  cmd->add_option("--max-bytes", a->max_bytes, "bytes of ready messages kept (0 unlimited)");
  cmd->add_option("--overflow", a->overflow, "drop-oldest|reject-publish")
      ->check(CLI::IsMember({"drop-oldest", "reject-publish"}))
      ->capture_default_str();
  cmd->add_option("--dead-letter-topic", a->dead_letter_topic, "where dead letters go");
  cmd->add_flag("--if-not-exists", a->if_not_exists, "succeed when it exists with these settings");
  add_push_options(cmd, a->push, "push-");
  cmd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_create(ctx.g, *a); }; });
}

}  // namespace

void add_sub_admin_commands(CLI::App& sub, context& ctx) {
  add_create(sub, ctx);
  add_sub_push_command(sub, ctx);

  auto pattern = std::make_shared<std::string>();
  auto* list = sub.add_subcommand("list",
                                  "list subscriptions: name, pattern, ready, unacked, "
                                  "consumers");
  list->add_option("PATTERN", *pattern, "only those receiving from this topic name");
  list->callback(
      [&ctx, pattern] { ctx.run = [&ctx, pattern] { return run_list(ctx.g, *pattern); }; });

  auto name = std::make_shared<std::string>();
  auto* describe = sub.add_subcommand("describe", "show a subscription as key: value lines");
  describe->add_option("NAME", *name, "subscription name")->required();
  describe->callback(
      [&ctx, name] { ctx.run = [&ctx, name] { return run_describe(ctx.g, *name); }; });

  auto del_name = std::make_shared<std::string>();
  auto if_exists = std::make_shared<bool>(false);
  auto* del = sub.add_subcommand("delete", "delete a subscription");
  del->add_option("NAME", *del_name, "subscription name")->required();
  del->add_flag("--if-exists", *if_exists, "succeed when it does not exist");
  del->callback([&ctx, del_name, if_exists] {
    ctx.run = [&ctx, del_name, if_exists] { return run_delete(ctx.g, *del_name, *if_exists); };
  });

  auto purge_name = std::make_shared<std::string>();
  auto* purge = sub.add_subcommand("purge", "drop a subscription's ready messages (not unacked)");
  purge->add_option("NAME", *purge_name, "subscription name")->required();
  purge->callback([&ctx, purge_name] {
    ctx.run = [&ctx, purge_name] { return run_purge(ctx.g, *purge_name); };
  });
}

}  // namespace ferry::cli
