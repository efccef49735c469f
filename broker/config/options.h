// broker_options: every setting of ferryd, as one struct tree with its defaults.
//
// The option table (option_table.h) names each field, documents it and parses it; the
// config file, FERRY_* environment variables and command-line flags all go through it.
#pragma once

#include <cstdint>
#include <string>

namespace ferry::broker {

struct broker_options {
  struct net_options {
    std::string listen = "127.0.0.1:7411";
  } net;
  struct limits_options {
    uint64_t max_frame_bytes = 16 << 20;
    uint64_t max_message_bytes = 1 << 20;
    uint64_t max_connections = 10'000;
    uint64_t max_outbound_bytes = 64 << 20;
    uint64_t write_timeout_ms = 30'000;
    uint64_t handshake_timeout_ms = 10'000;
    uint64_t max_deferred_publish_bytes = 64 << 20;
  } limits;
  struct memory_topics_options {
    uint64_t default_prefetch = 1000;
    uint64_t max_prefetch = 1'000'000;
    uint64_t default_ack_timeout_ms = 30'000;
    uint64_t default_max_deliveries = 0;
    uint64_t dedup_window_ms = 120'000;
    uint64_t memory_high_watermark_bytes = 1ULL << 30;
    uint64_t memory_low_watermark_bytes = 0;
    uint64_t timer_tick_ms = 10;
  } memory_topics;
  struct log_topics_options {
    uint64_t default_credit = 10'000;
    uint64_t max_partitions = 1024;
    uint64_t default_retention_ms = 7ULL * 24 * 3600 * 1000;
    uint64_t default_retention_bytes = 0;  // 0 = unlimited
    uint64_t tail_cache_bytes = 8 << 20;
    uint64_t read_batch_bytes = 1 << 20;
  } log_topics;
  struct storage_options {
    std::string data_dir = "data";
  } storage;
  struct log_options {
    std::string level = "info";
    std::string format = "text";
  } log;
};

}  // namespace ferry::broker
