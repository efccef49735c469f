// ferry group list|describe: consumer groups of log topics.
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

}  // namespace

void add_group_commands(CLI::App& app, context& ctx) {
  auto* group = app.add_subcommand("group", "consumer groups of log topics (list|describe)");
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
}

}  // namespace ferry::cli
