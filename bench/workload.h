// The named workloads of ferry-bench.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "ferry/v1/admin.pb.h"

namespace ferry::bench {

struct workload {
  std::string name;
  std::string description;
  uint32_t message_bytes = 100;
  uint32_t subscriptions = 1;  // memory: subscriptions; log: readers (all partitions each)
  bool ephemeral = false;      // memory: ephemeral subscriptions (else durable named ones)
  bool acks = true;            // memory: manual acks (else auto_ack)
  uint64_t rate = 0;           // messages/s; 0 = as fast as the broker sustains
  bool log = false;            // a log topic instead of a memory topic
  uint32_t partitions = 1;     // log
  v1::FsyncPolicy fsync = v1::FSYNC_ALWAYS;  // log
  uint64_t catchup_bytes = 0;  // log: write this much first, then measure one reader's catch-up
};

const std::vector<workload>& workloads();
const workload* find_workload(const std::string& name);

}  // namespace ferry::bench
