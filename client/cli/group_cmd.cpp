// ferry group list|describe|reset-offsets: consumer groups of log topics.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace ferry::cli {

namespace {

using u64 = unsigned long long;

// name, topic, members, total lag: one line per group.
int run_list(const globals& g) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->list_groups();
  if (!r) return fail(r.err());
  for (const auto& gi : r->groups()) {
    u64 lag = 0;
    for (const auto& p : gi.partitions())
      lag += p.lag();
    std::printf("%s\t%s\tmembers=%d\tlag=%llu\n", gi.group().c_str(), gi.topic().c_str(),
                gi.members_size(), lag);
  }
  return exit_ok;
}

std::string join(const google::protobuf::RepeatedField<uint32_t>& ps) {
  std::string s;
  for (uint32_t p : ps) {
    if (!s.empty()) s.push_back(',');
    s.append(std::to_string(p));
  }
  return s;
}

int run_describe(const globals& g, const std::string& name) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->describe_group(name);
  if (!r) return fail(r.err());
  const auto& gi = r.value();
  std::printf("group: %s\ntopic: %s\ngeneration: %llu\nmembers: %d\n", gi.group().c_str(),
              gi.topic().c_str(), static_cast<u64>(gi.generation()), gi.members_size());
  for (const auto& m : gi.members())
    std::printf("member %s: client_id=%s partitions=%s\n", m.member_id().c_str(),
                m.client_id().c_str(), join(m.partitions()).c_str());
  for (const auto& p : gi.partitions()) {
    std::string committed = p.has_committed() ? std::to_string(p.committed()) : "-";
    std::printf("partition %u: committed=%s log_start=%llu log_end=%llu lag=%llu owner=%s\n",
                p.partition(), committed.c_str(), static_cast<u64>(p.log_start()),
                static_cast<u64>(p.log_end()), static_cast<u64>(p.lag()),
                p.owner().empty() ? "-" : p.owner().c_str());
  }
  return exit_ok;
}

struct reset_args {
  std::string group, topic, to = "earliest";
  std::vector<uint32_t> partitions;
};

// One "partition N: offset M" line per partition reset.
int run_reset(const globals& g, const reset_args& a) {
  v1::ResetOffsets req;
  req.set_group(a.group);
  req.set_topic(a.topic);
  if (!parse_position(a.to, *req.mutable_to()))
    return usage_error("--to must be earliest, latest, offset:N or time:UNIX_MS, got '" + a.to +
                       "'");
  for (uint32_t p : a.partitions)
    req.add_partitions(p);
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->reset_offsets(req);
  if (!r) return fail(r.err());
  for (const auto& po : r->offsets())
    std::printf("partition %u: offset %llu\n", po.partition(), static_cast<u64>(po.offset()));
  return exit_ok;
}

void add_reset(CLI::App& group, context& ctx) {
  auto a = std::make_shared<reset_args>();
  auto* cmd = group.add_subcommand(
      "reset-offsets",
      "move an empty group's committed offsets (kafka-consumer-groups --reset-offsets)");
  cmd->add_option("GROUP", a->group, "group name")->required();
  cmd->add_option("--topic", a->topic, "the group's log topic")->required();
  cmd->add_option("--to", a->to, "earliest|latest|offset:N|time:UNIX_MS")->capture_default_str();
  cmd->add_option("--partition", a->partitions, "only these partitions (repeatable)");
  cmd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_reset(ctx.g, *a); }; });
}

}  // namespace

void add_group_commands(CLI::App& app, context& ctx) {
  auto* group =
      app.add_subcommand("group", "consumer groups of log topics (list|describe|reset-offsets)");
  group->require_subcommand(1);

  auto* list = group->add_subcommand("list", "list groups: name, topic, members, total lag");
  list->callback([&ctx] { ctx.run = [&ctx] { return run_list(ctx.g); }; });

  auto name = std::make_shared<std::string>();
  auto* describe =
      group->add_subcommand("describe",
                            "show a group: members and their partitions; per partition committed "
                            "offset, log end, lag and owner");
  describe->add_option("GROUP", *name, "group name")->required();
  describe->callback(
      [&ctx, name] { ctx.run = [&ctx, name] { return run_describe(ctx.g, *name); }; });
  add_reset(*group, ctx);
}

}  // namespace ferry::cli
