// queue_probe: the queues subsystem's counters since start, the one object /metrics reads
// for them (with each subscription's own statistics, which the registry describes). Owned
// by the queue registry; loop only.
#pragma once

#include <cstdint>

namespace ferry::broker {

struct queue_probe {
  uint64_t messages_published = 0;  // accepted (each once, however many subscriptions)
  uint64_t bytes_published = 0;
  uint64_t messages_refused = 0;  // per-message refusals (PublishOk.errors)
  uint64_t duplicates = 0;        // idempotent retries not enqueued again
  uint64_t dead_lettered = 0;     // taken by a dead-letter topic
  uint64_t dead_letters_dropped = 0;
};

}  // namespace ferry::broker
