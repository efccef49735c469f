// cluster_view: what the rest of the broker may ask of the cluster, through one door:
// which node this is, whether its registration is current, which nodes are alive, which
// is the controller (DescribeCluster, /readyz). Implemented by membership; null without
// cluster.etcd. Loop only.
#pragma once

#include <cstdint>
#include <map>
#include <string>

namespace ferry::broker {

struct cluster_node {
  uint32_t id = 0;
  std::string advertise;    // HOST:PORT
  std::string incarnation;  // the data dir's identity (node_identity)
};

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
};

}  // namespace ferry::broker
