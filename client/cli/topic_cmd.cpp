// ferry topic create|list|describe|delete
#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace ferry::cli {

namespace {

struct create_args {
  std::string name;
  std::string kind = "memory";
  uint32_t partitions = 0;
  uint32_t replication_factor = 0;
  uint64_t ttl_ms = 0;
  int64_t retention_ms = 0;
  int64_t retention_bytes = 0;
  std::string fsync;
  uint32_t fsync_interval_ms = 0;
  bool if_not_exists = false;
};

const char* kind_name(v1::TopicKind k) {
  return k == v1::LOG ? "log" : "memory";
}

const char* fsync_name(v1::FsyncPolicy p) {
  switch (p) {
    case v1::FSYNC_INTERVAL: return "interval";
    case v1::FSYNC_NEVER: return "never";
    default: return "always";
  }
}

int run_create(const globals& g, const create_args& a) {
  v1::CreateTopic req;
  req.set_name(a.name);
  req.set_kind(a.kind == "log" ? v1::LOG : v1::MEMORY);
  req.set_if_not_exists(a.if_not_exists);
  auto* o = req.mutable_options();
  o->set_partitions(a.partitions);
  o->set_replication_factor(a.replication_factor);
  o->set_message_ttl_ms(a.ttl_ms);
  o->set_retention_ms(a.retention_ms);
  o->set_retention_bytes(a.retention_bytes);
  o->set_fsync_interval_ms(a.fsync_interval_ms);
  if (a.fsync == "interval") o->set_fsync(v1::FSYNC_INTERVAL);
  if (a.fsync == "never") o->set_fsync(v1::FSYNC_NEVER);
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->create_topic(req);
  return r ? exit_ok : fail(r.err());
}

// name, kind, partitions (log) or ttl (memory), subscriptions: one line per topic.
int run_list(const globals& g) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->list_topics();
  if (!r) return fail(r.err());
  for (const auto& t : r->topics()) {
    const auto& o = t.options();
    std::string shape = t.kind() == v1::LOG
                            ? "partitions=" + std::to_string(o.partitions() ? o.partitions() : 1)
                            : "ttl_ms=" + std::to_string(o.message_ttl_ms());
    std::printf("%s\t%s\t%s\tsubscriptions=%d\n", t.name().c_str(), kind_name(t.kind()),
                shape.c_str(), t.subscriptions_size());
  }
  return exit_ok;
}

int run_describe(const globals& g, const std::string& name) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->describe_topic(name);
  if (!r) return fail(r.err());
  const auto& t = r.value();
  const auto& o = t.options();
  std::printf("name: %s\nkind: %s\n", t.name().c_str(), kind_name(t.kind()));
  if (t.kind() == v1::LOG) {
    std::printf("partitions: %u\nfsync: %s\n", o.partitions() ? o.partitions() : 1u,
                fsync_name(o.fsync()));
    if (o.replication_factor() != 0)
      std::printf("replication_factor: %u\n", o.replication_factor());
    if (o.fsync() == v1::FSYNC_INTERVAL)
      std::printf("fsync_interval_ms: %u\n", o.fsync_interval_ms());
    std::printf("retention_ms: %lld\nretention_bytes: %lld\n",
                static_cast<long long>(o.retention_ms()),
                static_cast<long long>(o.retention_bytes()));
  } else {
    std::printf("message_ttl_ms: %llu\n", static_cast<unsigned long long>(o.message_ttl_ms()));
  }
  std::printf("temporary: %s\n", o.temporary() ? "true" : "false");
  std::printf("messages_published: %llu\nproducers: %llu\nscheduled: %llu\n",
              static_cast<unsigned long long>(t.messages_published()),
              static_cast<unsigned long long>(t.producers()),
              static_cast<unsigned long long>(t.scheduled()));
  std::string subs;
  for (const auto& s : t.subscriptions())
    subs += (subs.empty() ? "" : ", ") + s;
  std::printf("subscriptions: %s\n", subs.c_str());
  // Log topics: one line per partition, last.
  for (const auto& p : t.partitions())
    std::printf("partition %u: log_start=%llu log_end=%llu bytes=%llu\n", p.partition(),
                static_cast<unsigned long long>(p.log_start()),
                static_cast<unsigned long long>(p.log_end()),
                static_cast<unsigned long long>(p.bytes()));
  return exit_ok;
}

int run_delete(const globals& g, const std::string& name, bool if_exists) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  v1::DeleteTopic req;
  req.set_name(name);
  req.set_if_exists(if_exists);
  auto r = c->delete_topic(req);
  return r ? exit_ok : fail(r.err());
}

void add_create(CLI::App& topic, context& ctx) {
  auto a = std::make_shared<create_args>();
  auto* cmd = topic.add_subcommand("create", "create a topic");
  cmd->add_option("NAME", a->name, "topic name, e.g. orders.eu.created")->required();
  cmd->add_option("--kind", a->kind, "memory (queues in RAM) or log (durable, partitioned)")
      ->check(CLI::IsMember({"memory", "log"}))
      ->capture_default_str();
  cmd->add_option("--partitions", a->partitions, "log topics: number of partitions");
  cmd->add_option("--replication-factor", a->replication_factor,
                  "log topics in a cluster: nodes holding each partition (default 3, or fewer "
                  "live nodes)");
  cmd->add_option("--ttl-ms", a->ttl_ms, "memory topics: time to live of every message");
  cmd->add_option("--retention-ms", a->retention_ms,
                  "log topics: keep records this long (-1 forever)");
  cmd->add_option("--retention-bytes", a->retention_bytes,
                  "log topics: bytes kept per partition (-1 unlimited)");
  cmd->add_option("--fsync", a->fsync, "log topics: always|interval|never")
      ->check(CLI::IsMember({"always", "interval", "never"}));
  cmd->add_option("--fsync-interval-ms", a->fsync_interval_ms, "log topics, --fsync interval");
  cmd->add_flag("--if-not-exists", a->if_not_exists, "succeed when it exists with these settings");
  cmd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_create(ctx.g, *a); }; });
}

}  // namespace

void add_topic_commands(CLI::App& app, context& ctx) {
  auto* topic = app.add_subcommand("topic", "manage topics");
  topic->require_subcommand(1);
  add_create(*topic, ctx);

  auto* list = topic->add_subcommand("list",
                                     "list topics: name, kind, partitions or ttl, "
                                     "subscriptions");
  list->callback([&ctx] { ctx.run = [&ctx] { return run_list(ctx.g); }; });

  auto name = std::make_shared<std::string>();
  auto* describe = topic->add_subcommand("describe", "show a topic as key: value lines");
  describe->add_option("NAME", *name, "topic name")->required();
  describe->callback(
      [&ctx, name] { ctx.run = [&ctx, name] { return run_describe(ctx.g, *name); }; });

  auto del_name = std::make_shared<std::string>();
  auto if_exists = std::make_shared<bool>(false);
  auto* del = topic->add_subcommand("delete", "delete a topic");
  del->add_option("NAME", *del_name, "topic name")->required();
  del->add_flag("--if-exists", *if_exists, "succeed when it does not exist");
  del->callback([&ctx, del_name, if_exists] {
    ctx.run = [&ctx, del_name, if_exists] { return run_delete(ctx.g, *del_name, *if_exists); };
  });
}

}  // namespace ferry::cli
