// The fixture of the log-topic unit tests: a log_topic over testing_port (each storage
// operation runs only when the test says so, so every interleaving is chosen, not timed)
// and a manual clock for retention and fsync intervals.
#pragma once

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <catch2/catch.hpp>

#include "broker/logs/log_testing.h"
#include "broker/logs/log_topic.h"
#include "broker/topics/testing.h"
#include "proto/codec/names.h"

using namespace ferry::broker;
namespace storage = ferry::storage;
using ferry::errc;
using ferry::broker::testing::keyed_message;
using ferry::broker::testing::manual_clock;
using ferry::broker::testing::publish_answer;
using ferry::broker::testing::recording_sink;
using ferry::broker::testing::testing_port;
namespace v1 = ferry::v1;
using op = testing_port::op;
using offsets = std::vector<uint64_t>;
using payloads = std::vector<std::string>;

namespace log_test {

inline constexpr uint32_t topic_id = 7;

inline v1::TopicOptions log_options(uint32_t partitions, v1::FsyncPolicy fsync = v1::FSYNC_ALWAYS) {
  v1::TopicOptions o;
  o.set_partitions(partitions);
  o.set_fsync(fsync);
  if (fsync == v1::FSYNC_INTERVAL) o.set_fsync_interval_ms(200);
  return o;
}

inline v1::PartitionStart start_at(uint32_t partition, v1::Position::Kind kind, int64_t value = 0) {
  v1::PartitionStart s;
  s.set_partition(partition);
  s.mutable_start()->set_kind(kind);
  s.mutable_start()->set_value(value);
  return s;
}

// Keyless messages with these payloads.
inline std::vector<keyed_message> msgs(std::initializer_list<std::string> ps) {
  std::vector<keyed_message> out;
  for (const auto& p : ps)
    out.emplace_back("", p);
  return out;
}

inline offsets offsets_of(const v1::PublishOk& ok) {
  return {ok.offsets().begin(), ok.offsets().end()};
}

inline std::vector<uint32_t> partitions_of(const v1::PublishOk& ok) {
  return {ok.partitions().begin(), ok.partitions().end()};
}

// The code of every per-message error, in order.
inline std::vector<v1::ErrorCode> error_codes(const v1::PublishOk& ok) {
  std::vector<v1::ErrorCode> out;
  for (const auto& e : ok.errors())
    out.push_back(e.code());
  return out;
}

inline ferry::error disk_full() {
  return {make_error_code(errc::disk_full), "no space left on device"};
}

struct attached {
  consumer* c = nullptr;
  ferry::error err;
  std::vector<v1::PartitionAssignment> assigned;
};

struct fixture {
  manual_clock clock;
  loop_clock now{clock};
  log_settings cfg;
  log_probe probe;
  testing_port port;
  recording_sink sink;
  std::deque<consumer> consumers;
  std::unique_ptr<log_topic> topic;

  explicit fixture(v1::TopicOptions o) { reopen(std::move(o)); }
  ~fixture() { detach_all(); }

  // A new log_topic over the same storage (recover() is the caller's business).
  void reopen(v1::TopicOptions o) {
    detach_all();
    topic.reset();
    topic = std::make_unique<log_topic>("events", topic_id, std::move(o), port, now, cfg, probe);
  }
  void detach_all() {
    if (!topic) return;
    for (auto& c : consumers)
      topic->detach(c);
  }

  std::shared_ptr<publish_answer> publish(const std::vector<keyed_message>& messages,
                                          std::optional<uint32_t> partition = std::nullopt,
                                          std::string_view producer = {},
                                          uint64_t first_sequence = 0) {
    return ferry::broker::testing::publish(
        *topic, ferry::broker::testing::publish_frame("events", messages, partition, producer,
                                                      first_sequence));
  }
  // Publishes and runs storage until the answer is in.
  v1::PublishOk published(const std::vector<keyed_message>& messages,
                          std::optional<uint32_t> partition = std::nullopt,
                          std::string_view producer = {}, uint64_t first_sequence = 0) {
    auto a = publish(messages, partition, producer, first_sequence);
    port.run_all();
    REQUIRE(a->answered);
    REQUIRE_FALSE(a->err);
    return a->ok;
  }

  attached attach(uint32_t credit, std::vector<v1::PartitionStart> starts) {
    consumers.emplace_back(consumers.size() + 1, sink, credit, true);
    attached a;
    a.c = &consumers.back();
    a.err = topic->attach(*a.c, starts, a.assigned);
    return a;
  }
  consumer& reader(uint32_t credit, std::vector<v1::PartitionStart> starts) {
    auto a = attach(credit, std::move(starts));
    INFO(a.err.to_string());
    REQUIRE_FALSE(a.err);
    return *a.c;
  }

  // What `c` was delivered so far, in order.
  offsets delivered_offsets(const consumer& c) const {
    offsets out;
    for (const auto& r : sink.records)
      if (r.consumer_id == c.id()) out.push_back(r.offset);
    return out;
  }
  payloads delivered_payloads(const consumer& c) const {
    payloads out;
    for (const auto& r : sink.records)
      if (r.consumer_id == c.id()) out.push_back(r.payload);
    return out;
  }

  storage::partition_bounds stored_bounds(uint32_t partition) {
    storage::partition_bounds b;
    REQUIRE_FALSE(port.store.bounds({topic_id, partition}, b));
    return b;
  }
};

}  // namespace log_test

using namespace log_test;
