// partition_controller: the controller's part in partition leadership (docs/CLUSTER.md,
// section 5). On the node that holds the controller key, every change of the live nodes,
// of the partitions or of the controllership is followed by a review of every partition
// (placement.h's next_leadership): a dead leader is replaced by a live in-sync replica
// with the leader epoch bumped, dead nodes leave the ISR, a partition with no live
// in-sync replica waits leaderless for one to return.
//
// Each decision is one etcd transaction on two conditions: the partition key's mod
// revision as this node last read it, and the controller key's create revision being
// this controller's epoch. A decision made on a stale view, or by a controller deposed
// meanwhile, changes nothing; the watch brings the newer state and the review runs again.
// Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <utility>

#include "broker/cluster/cluster_view.h"
#include "broker/cluster/etcd_client.h"
#include "support/lifetime.h"

namespace ferry::broker {

class partition_controller {
 public:
  using task = std::function<void()>;
  struct environment {
    etcd_client& etcd;
    std::function<void(int64_t ms, task)> after;  // `task` as a loop event, `ms` from now
    const cluster_view& view;
    std::string prefix;  // cluster.prefix
  };

  explicit partition_controller(environment env);

  // Something the decisions depend on changed: a review runs as a loop event of its own
  // (several changes in one event are reviewed once).
  void changed();

 private:
  void review();
  void decide(const std::pair<std::string, uint32_t>& key, const partition_state& now,
              const partition_state& next);

  environment env_;
  bool pending_ = false;
  std::set<std::pair<std::string, uint32_t>> deciding_;  // transactions in flight
  bool skipped_ = false;  // a review passed over a partition whose decision was in flight
  lifetime_token lifetime_;
};

}  // namespace ferry::broker
