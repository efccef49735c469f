// Frame builders and readers for log-topic tests over raw_client.
#pragma once

#include <chrono>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/raw_client.h"

namespace ferry::testing {

inline v1::Frame create_log_topic(raw_client& c, const std::string& name, uint32_t partitions,
                                  v1::FsyncPolicy fsync = v1::FSYNC_ALWAYS) {
  v1::Frame f;
  auto* ct = f.mutable_create_topic();
  ct->set_name(name);
  ct->set_kind(v1::LOG);
  ct->mutable_options()->set_partitions(partitions);
  ct->mutable_options()->set_fsync(fsync);
  return c.request(f);
}

inline v1::Frame describe_frame(const std::string& topic) {
  v1::Frame f;
  f.mutable_describe_topic()->set_name(topic);
  return f;
}

// (key, payload) messages; partition -1 = let the broker choose.
inline v1::Frame publish_frame(const std::string& topic,
                               const std::vector<std::pair<std::string, std::string>>& msgs,
                               int partition = -1, const std::string& producer = "",
                               uint64_t first_sequence = 0) {
  v1::Frame f;
  auto* p = f.mutable_publish();
  p->set_topic(topic);
  if (partition >= 0) p->set_partition(static_cast<uint32_t>(partition));
  p->set_producer_id(producer);
  p->set_first_sequence(first_sequence);
  for (const auto& [k, v] : msgs) {
    auto* m = p->add_messages();
    m->set_key(k);
    m->set_payload(v);
  }
  return f;
}

inline v1::Frame consume_frame(const std::string& topic, uint32_t partition,
                               v1::Position::Kind kind, int64_t value, uint32_t credit) {
  v1::Frame f;
  auto* cl = f.mutable_consume_log();
  cl->set_topic(topic);
  cl->set_credit(credit);
  auto* ps = cl->add_partitions();
  ps->set_partition(partition);
  ps->mutable_start()->set_kind(kind);
  ps->mutable_start()->set_value(value);
  return f;
}

inline void send_credit(raw_client& c, uint64_t consumer_id, uint32_t n) {
  v1::Frame f;
  f.mutable_credit()->set_consumer_id(consumer_id);
  f.mutable_credit()->set_credit(n);
  c.send_frame(f);
}

struct record {
  uint32_t partition;
  uint64_t offset;
  int64_t timestamp_ms;
  std::string payload;
};

// Reads up to `n` delivered records (Deliver frames), waiting at most `timeout` for each.
inline std::vector<record> read_records(
    raw_client& c, size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  std::vector<record> out;
  while (out.size() < n) {
    auto f = c.read_frame(timeout);
    if (!f) break;
    if (!f->has_deliver()) continue;
    for (const auto& d : f->deliver().deliveries())
      out.push_back({d.partition(), d.offset(), d.timestamp_ms(), d.message().payload()});
  }
  return out;
}

}  // namespace ferry::testing
