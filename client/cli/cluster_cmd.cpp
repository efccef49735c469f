// ferry cluster status: the cluster's nodes, as the broker asked sees them.
#include <cstdio>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace ferry::cli {

namespace {

// The answering node and whether its registration is current, then one line per node.
int run_status(const globals& g) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  auto r = c->describe_cluster();
  if (!r) return fail(r.err());
  if (!r->enabled()) {
    std::printf("not a cluster: this broker runs alone (no cluster.etcd)\n");
    return exit_ok;
  }
  std::printf("answered by node %u, %s\n", r->node_id(),
              r->registered() ? "registered in etcd"
                              : "NOT registered in etcd (its lease may have lapsed)");
  if (r->controller_id() == 0) {
    std::printf("controller: none known\n");
  } else {
    std::printf("controller: node %u (epoch %lld)\n", r->controller_id(),
                static_cast<long long>(r->controller_epoch()));
  }
  std::printf("nodes: %d\n", r->nodes_size());
  for (const auto& n : r->nodes())
    std::printf("node %u\t%s%s\n", n.id(), n.address().c_str(),
                n.id() == r->node_id() ? "\t(this node)" : "");
  return exit_ok;
}

}  // namespace

void add_cluster_commands(CLI::App& app, context& ctx) {
  auto* cluster = app.add_subcommand("cluster", "the cluster this broker belongs to (status)");
  cluster->require_subcommand(1);
  auto* status = cluster->add_subcommand("status", "the live nodes and their addresses");
  status->callback([&ctx] { ctx.run = [&ctx] { return run_status(ctx.g); }; });
}

}  // namespace ferry::cli
