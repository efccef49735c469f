// cluster_harness: a ferryd cluster for the integration tests: a real etcd
// (etcd_process) and N real ferryd processes on loopback, each with its own ports, data
// dir and log file, all stopped when the harness goes (docs/CLUSTER.md).
#pragma once

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <system_error>
#include <vector>

#include "tests/support/broker_process.h"
#include "tests/support/etcd_process.h"
#include "tests/support/http_client.h"
#include "tests/support/test_helpers.h"

namespace ferry::testing {

// ferryd's arguments for node `id` of the cluster on `etcd` (leases of 1 s: quick tests).
inline std::vector<std::string> node_args(const etcd_process& etcd, int id,
                                          std::vector<std::string> more = {}) {
  std::vector<std::string> args{"--set", "cluster.etcd=" + etcd.endpoint(),
                                "--set", "cluster.node_id=" + std::to_string(id),
                                "--set", "cluster.lease_ttl_s=1"};
  args.insert(args.end(), more.begin(), more.end());
  return args;
}

struct cluster {
  etcd_process etcd;
  std::string dir = make_temp_dir("ferry-cluster-test");  // the nodes' logs
  std::vector<std::unique_ptr<broker_process>> nodes;

  // Nodes 1..n, each started (registered, and the cluster's topics read) before the next,
  // with `more` arguments each.
  explicit cluster(int n, const std::vector<std::string>& more = {}) {
    for (int id = 1; id <= n; ++id)
      nodes.push_back(
          std::make_unique<broker_process>(node_args(etcd, id, more), std::string(), log_of(id)));
  }
  ~cluster() {
    nodes.clear();
    std::error_code ec;
    std::filesystem::remove_all(dir, ec);
  }
  std::string log_of(int id) const { return dir + "/node-" + std::to_string(id) + ".log"; }
  // Waits until every running node sees every running node (their ferry_cluster_nodes
  // gauge); false if they do not within `within`.
  bool settled(std::chrono::milliseconds within = std::chrono::seconds(5)) {
    double running = 0;
    for (const auto& n : nodes)
      running += n->running() ? 1 : 0;
    return eventually(
        [&] {
          for (const auto& n : nodes)
            if (n->running() && metric_sample(http_call(n->http_port(), "GET", "/metrics").body,
                                              "ferry_cluster_nodes") != running)
              return false;
          return true;
        },
        within);
  }
  broker_process& node(int id) { return *nodes.at(static_cast<size_t>(id - 1)); }
};

}  // namespace ferry::testing
