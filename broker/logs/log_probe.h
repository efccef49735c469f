// log_probe: the logs subsystem's counters since start, the one object /metrics reads for
// them (with each partition's bounds, which the topics describe). Owned by the log
// registry; loop only.
#pragma once

#include <cstdint>

#include "support/histogram.h"

namespace ferry::broker {

struct log_probe {
  uint64_t records_appended = 0;  // durable as their topic's fsync policy says
  uint64_t bytes_appended = 0;
  uint64_t writes = 0;           // partition writes submitted to storage
  uint64_t write_failures = 0;   // writes that failed (their records were refused)
  uint64_t records_refused = 0;  // per-message refusals (PublishOk.errors)
  uint64_t storage_reads = 0;    // reads for readers behind the tail cache
  uint64_t records_read = 0;     // records delivered to readers, from the cache or storage
  histogram confirm_seconds = latency_histogram();  // Publish to PublishOk, in seconds
};

}  // namespace ferry::broker
