#include "bench/workload.h"

namespace ferry::bench {

const std::vector<workload>& workloads() {
  static const std::vector<workload> all = [] {
    std::vector<workload> w;
    auto mem = [&](std::string name, std::string desc, uint32_t subs, bool eph, bool acks,
                   uint64_t rate) {
      workload x;
      x.name = std::move(name);
      x.description = std::move(desc);
      x.subscriptions = subs;
      x.ephemeral = eph;
      x.acks = acks;
      x.rate = rate;
      w.push_back(x);
    };
    mem("mem-throughput-100B",
        "1 publisher, 1 durable subscription, 1 consumer with acks, max rate", 1, false, true, 0);
    mem("mem-pubsub-100B", "1 publisher, 1 ephemeral subscription, no acks, max rate", 1, true,
        false, 0);
    mem("mem-latency-5k", "1 publisher at 5,000 msg/s, 1 ephemeral subscription, no acks", 1, true,
        false, 5000);
    mem("mem-latency-5k-acks", "1 publisher at 5,000 msg/s, 1 durable subscription with acks", 1,
        false, true, 5000);
    mem("mem-fanout-8", "1 publisher, 8 ephemeral subscriptions (8 connections), no acks, max rate",
        8, true, false, 0);
    auto log = [&](std::string name, std::string desc, uint32_t bytes, uint64_t rate,
                   v1::FsyncPolicy fsync, uint64_t catchup) {
      workload x;
      x.name = std::move(name);
      x.description = std::move(desc);
      x.message_bytes = bytes;
      x.rate = rate;
      x.log = true;
      x.fsync = fsync;
      x.catchup_bytes = catchup;
      w.push_back(x);
    };
    log("log-durable-1KiB",
        "1 idempotent producer, 1 KiB records, fsync: always, 1 partition, 1 reader, max rate",
        1024, 0, v1::FSYNC_ALWAYS, 0);
    log("log-latency-5k",
        "1 idempotent producer at 5,000 records/s, 1 KiB, fsync: always, 1 reader", 1024, 5000,
        v1::FSYNC_ALWAYS, 0);
    log("log-catchup-1GiB",
        "write 1 GiB of 1 KiB records (fsync: never), then 1 reader from earliest", 1024, 0,
        v1::FSYNC_NEVER, 1ULL << 30);
    log("log-latency-5k-nosync", "log-latency-5k with fsync: never (to see what fsync costs)", 1024,
        5000, v1::FSYNC_NEVER, 0);
    return w;
  }();
  return all;
}

const workload* find_workload(const std::string& name) {
  for (const auto& w : workloads())
    if (w.name == name) return &w;
  return nullptr;
}

}  // namespace ferry::bench
