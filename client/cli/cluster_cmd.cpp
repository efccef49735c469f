// ferry cluster status: the cluster's nodes and log topic partitions, as the broker asked
// sees them.
#include <cstdio>
#include <set>
#include <string>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace ferry::cli {

namespace {

std::string id_list(const google::protobuf::RepeatedField<uint32_t>& ids) {
  std::string out;
  for (uint32_t id : ids)
    out.append(out.empty() ? "" : ",").append(std::to_string(id));
  return out;
}

// One line per partition: topic/partition, leader (and whether it is alive), epoch,
// replicas, in-sync replicas, and UNDER-REPLICATED when some replica is out of sync.
void print_partitions(const v1::ClusterInfo& info) {
  std::set<uint32_t> live;
  for (const auto& n : info.nodes())
    live.insert(n.id());
  int under = 0;
  for (const auto& p : info.partitions())
    under += p.isr_size() < p.replicas_size() ? 1 : 0;
  std::printf("partitions: %d (%d under-replicated)\n", info.partitions_size(), under);
  for (const auto& p : info.partitions()) {
    const bool led = p.leader() != 0 && live.contains(p.leader());
    std::printf("partition %s/%u\tleader %u%s\tepoch %lld\treplicas %s\tisr %s%s\n",
                p.topic().c_str(), p.partition(), p.leader(), led ? "" : " (offline)",
                static_cast<long long>(p.leader_epoch()), id_list(p.replicas()).c_str(),
                id_list(p.isr()).c_str(),
                p.isr_size() < p.replicas_size() ? "\tUNDER-REPLICATED" : "");
  }
}

// The answering node and whether its registration is current, then one line per node
// and one per partition.
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
  print_partitions(r.value());
  return exit_ok;
}

}  // namespace

void add_cluster_commands(CLI::App& app, context& ctx) {
  auto* cluster = app.add_subcommand("cluster", "the cluster this broker belongs to (status)");
  cluster->require_subcommand(1);
  auto* status = cluster->add_subcommand(
      "status", "the live nodes, and each partition's leader, replicas and in-sync replicas");
  status->callback([&ctx] { ctx.run = [&ctx] { return run_status(ctx.g); }; });
}

}  // namespace ferry::cli
