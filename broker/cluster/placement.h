// placement: where a new log topic's partitions live, who leads one when nodes go and
// come, and how their state is spelled in etcd (docs/CLUSTER.md, sections 2 and 5). Pure
// functions: no etcd, no loop.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
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

// The state a partition should move to when `live` are the live nodes, or nullopt when
// it stays. Dead nodes leave the ISR, unless none of it is alive: then the ISR stays (its
// members are the only ones known to hold every confirmed record) and the partition has
// no leader until one of them returns. A dead leader is replaced by the first live
// in-sync replica in replica order, never by a replica outside the ISR; every change of
// leader (to none included) bumps the leader epoch.
std::optional<partition_state> next_leadership(const partition_state& st,
                                               const std::set<uint32_t>& live);

// Where partition states are kept in etcd: every one under <prefix>/partitions/, a
// topic's under <prefix>/partitions/<topic>/, one as <prefix>/partitions/<topic>/<p>.
std::string partitions_root(std::string_view prefix);
std::string topic_partitions(std::string_view prefix, std::string_view topic);
std::string partition_key(std::string_view prefix, std::string_view topic, uint32_t p);

// {"replicas": [...], "leader": N, "leader_epoch": E, "isr": [...]}
std::string encode_partition_state(const partition_state& p);
// False when `json` is not such an object.
bool decode_partition_state(std::string_view json, partition_state& out);

}  // namespace ferry::broker
