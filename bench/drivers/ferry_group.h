// ferry_group: a consumer group under membership churn (workload key `group_churn`), for
// the ferry driver: what a rebalance costs the members in delivery pause.
//
// One log topic; one producer at the workload's fixed rate (open loop, each record stamped
// with its due time); `consumers_per_subscription` members of one consumer group (PROTOCOL.md
// 10), each a client on a loop and thread of its own, reading from the group's committed
// offsets with auto-commit. A third into the measured window one more member joins; at two
// thirds the first member leaves cleanly (its reader closes, committing what it handled).
// The group as a whole is measurement reader 0, so a record delivered twice across a
// rebalance counts as a duplicate and one never delivered as lost; records published while
// their partition moves arrive late, so the rebalance pause shows as end-to-end latency
// (its maximum).
#pragma once

#include "bench/driver.h"
#include "bench/measurement.h"
#include "bench/workload.h"

namespace ferry::bench {

// Blocking and bounded (warm-up + duration + a few seconds for each membership change).
ferry::error run_ferry_group_churn(const workload& w, const endpoint& at, measurement& m);

}  // namespace ferry::bench
