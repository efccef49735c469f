// placement: where a new log topic's partitions live, and how their state is spelled in
// etcd (docs/CLUSTER.md, section 2). Pure functions: no etcd, no loop.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "broker/cluster/cluster_view.h"

namespace ferry::broker {

// The replicas of each of `partitions` partitions over `nodes` (the live node ids):
// `replication_factor` distinct nodes each (at most every node), chosen round the sorted
// nodes from a start that moves one node per partition (and per topic, by a hash of its
// name), so leaders and copies spread evenly. The first replica leads, in epoch 1, with
// every replica in sync (the partition is empty).
std::vector<partition_state> place_partitions(std::string_view topic, uint32_t partitions,
                                              uint32_t replication_factor,
                                              std::vector<uint32_t> nodes);

// {"replicas": [...], "leader": N, "leader_epoch": E, "isr": [...]}
std::string encode_partition_state(const partition_state& p);
// False when `json` is not such an object.
bool decode_partition_state(std::string_view json, partition_state& out);

}  // namespace ferry::broker
