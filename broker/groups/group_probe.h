// group_probe: the consumer-group counters since start, the one object /metrics reads for
// them (with each group's members and lag, which the coordinator describes). Owned by the
// group coordinator; loop only.
#pragma once

#include <cstdint>

namespace ferry::broker {

struct group_probe {
  uint64_t joins = 0;
  uint64_t leaves = 0;            // closed, disconnected or timed out
  uint64_t session_timeouts = 0;  // of those, removed for silence
  uint64_t commits = 0;           // CommitOffsets made durable
};

}  // namespace ferry::broker
