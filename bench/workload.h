// A benchmark workload, shaped like the OpenMessaging Benchmark's, loaded from a small YAML
// file in bench/workloads/ (every key below; see bench/workloads/README.md).
#pragma once

#include <algorithm>
#include <cstdint>
#include <string>
#include <vector>

namespace ferry::bench {

enum class topic_kind { memory, log };
// How durable an acknowledged publish must be (log workloads).
enum class durability { none, fsync_always, fsync_interval };

struct workload {
  std::string name;
  std::string description;
  topic_kind kind = topic_kind::memory;
  uint32_t topics = 1;
  uint32_t partitions_per_topic = 1;  // log topics
  uint32_t message_size = 100;        // bytes of payload (>= 16: sequence + timestamp)
  double random_payload_ratio = 0.0;  // share of the payload that is random bytes
  uint32_t producers_per_topic = 1;
  uint32_t subscriptions_per_topic = 1;  // memory: subscriptions; log: independent readers
  uint32_t consumers_per_subscription = 1;
  bool consumer_acks = true;  // per-message acks (memory topics)
  // Publishers have each publish confirmed (false: at most once, confirms off where the
  // system can publish without them; ferry always confirms).
  bool confirms = true;
  bool ephemeral = false;  // ephemeral subscriptions (memory topics)
  bool shared = false;     // log: shared subscriptions (per-record acks), not readers
  // Memory: request/reply round trips. The producers are requesters, each with one request
  // outstanding; the consumers are responders answering each request to its sender.
  bool request_reply = false;
  // Log: the consumers are one consumer group's members; during the measured window one
  // joins and one leaves (the rebalance pause shows as end-to-end latency).
  bool group_churn = false;
  uint64_t producer_rate = 0;  // messages/s over all producers; 0 = max sustained
  double warmup_s = 2;
  double duration_s = 10;
  durability durable = durability::none;
  uint64_t catchup_bytes = 0;  // log: write this much first, then time one reader
  // Catch-up runs: the server's data files leave the page cache between the writing and
  // the reading (a cold read; ferry-bench needs the server's data dir for it).
  bool cold_read = false;
  // Catch-up runs: the server is killed (SIGKILL) and started again between the writing and
  // the reading; the result adds how long it took to serve again.
  bool restart = false;
  uint32_t idle_connections = 0;  // open this many idle connections; measure memory
  // Log: create this many topics nothing uses first; measure memory (and, with restart,
  // the restart with them).
  uint32_t idle_topics = 0;

  // Max-rate publishers keep at most this many messages sent but not yet received by the
  // slowest reader (or not yet confirmed), in batches of `batch`. Not workload keys:
  // ferry-bench options.
  uint32_t window = 20000;
  // How a full window refills, the same for every driver: once half of it emptied (true),
  // or as soon as there is room for a batch (false).
  bool refill_half = true;
  uint32_t batch = 500;
  uint32_t prefetch = 10000;
  // ferry driver: each consumer on a thread of its own (as the peers' drivers run theirs),
  // or every client on one thread (--one-client-thread).
  bool client_threads = true;
};

// How far a full window must empty before a max-rate publisher sends again, the same for
// every driver (refill_half): below half of it, or as soon as a batch fits.
inline uint64_t refill_below(const workload& w) {
  const uint64_t window = std::max<uint64_t>(w.window, 2);
  return w.refill_half ? window / 2 : window - std::min<uint64_t>(w.batch, window - 1);
}

// Parses a workload file; on error returns false and sets `err` (naming the key).
bool load_workload(const std::string& path, workload& out, std::string& err);
// Every *.yaml of a directory, sorted by name.
std::vector<std::string> workload_files(const std::string& dir);

}  // namespace ferry::bench
