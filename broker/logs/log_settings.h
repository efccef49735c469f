// log_settings: the log_topics.* options (and limits.max_message_bytes,
// memory_topics.max_prefetch as the largest credit), as the logs subsystem reads them.
// Filled by the option table (config/option_table.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::broker {

struct log_settings {
  size_t max_message_bytes = 1 << 20;
  size_t tail_cache_bytes = 8 << 20;  // per partition
  size_t read_batch_bytes = 1 << 20;  // per storage read
  uint32_t default_credit = 10000;
  uint32_t max_credit = 1'000'000;
  uint32_t max_partitions = 1024;
  int64_t default_retention_ms = 7LL * 24 * 3600 * 1000;  // 0 = forever
  int64_t default_retention_bytes = 0;                    // per partition; 0 = unlimited
  uint32_t recent_batches = 5;  // per producer and partition, for retried batches
};

}  // namespace ferry::broker
