// cluster_view: what the rest of the broker may ask of the cluster, through one door:
// which node this is, whether its registration is current, which nodes are alive, which
// is the controller, where each log topic partition lives and who leads it
// (DescribeCluster, /readyz, /metrics, topic creation). Implemented by membership; null
// without cluster.etcd. Loop only.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace ferry::broker {

struct cluster_node {
  uint32_t id = 0;
  std::string advertise;    // HOST:PORT
  std::string incarnation;  // the data dir's identity (node_identity)
};

// A log topic partition's placement and leadership, as <prefix>/partitions/<topic>/<p>
// holds it (docs/CLUSTER.md, section 2).
struct partition_state {
  std::vector<uint32_t> replicas;  // the nodes holding it; the first is the preferred leader
  uint32_t leader = 0;             // 0: none
  int64_t leader_epoch = 0;
  std::vector<uint32_t> isr;  // the in-sync replicas, leader included
  int64_t revision = 0;       // etcd's mod revision of the key (compare-and-swap)

  bool under_replicated() const { return isr.size() < replicas.size(); }
};
// By (topic, partition).
using partition_map = std::map<std::pair<std::string, uint32_t>, partition_state>;

class cluster_view {
 public:
  virtual ~cluster_view() = default;
  virtual uint32_t node_id() const = 0;
  // False while this node's registration in etcd may have lapsed.
  virtual bool registered() const = 0;
  // The live nodes, this one included once registered.
  virtual const std::map<uint32_t, cluster_node>& nodes() const = 0;
  // The controller (0: none known) and its epoch (docs/CLUSTER.md, section 5).
  virtual uint32_t controller() const = 0;
  virtual int64_t controller_epoch() const = 0;
  // Every log topic partition of the cluster, as etcd last told this node.
  virtual const partition_map& partitions() const = 0;
};

}  // namespace ferry::broker
