// queue_settings: the memory_topics.* options (and limits.max_message_bytes), as the
// queues subsystem reads them. Filled by the option table (config/option_table.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::broker {

struct queue_settings {
  uint32_t default_prefetch = 1000;
  uint32_t max_prefetch = 1'000'000;
  int64_t default_ack_timeout_ms = 30'000;
  uint32_t default_max_deliveries = 0;  // 0 = unlimited
  int64_t dedup_window_ms = 120'000;
  size_t max_message_bytes = 1 << 20;
  int64_t memory_high_watermark_bytes = 1LL << 30;
  int64_t memory_low_watermark_bytes = 0;  // 0 = 80% of the high-water mark
  int64_t timer_tick_ms = 10;

  int64_t low_watermark() const {
    int64_t low = memory_low_watermark_bytes;
    return low <= 0 || low > memory_high_watermark_bytes ? memory_high_watermark_bytes / 10 * 8
                                                         : low;
  }
};

}  // namespace ferry::broker
