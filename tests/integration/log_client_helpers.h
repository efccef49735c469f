// Helpers for log-topic tests through libferry's blocking client.
#pragma once

#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "tests/support/client_helpers.h"

namespace ferry::testing {

inline void create_log_topic(fc::blocking_client& c, const std::string& name, uint32_t partitions,
                             v1::FsyncPolicy fsync = v1::FSYNC_ALWAYS) {
  v1::CreateTopic req;
  req.set_name(name);
  req.set_kind(v1::LOG);
  req.mutable_options()->set_partitions(partitions);
  req.mutable_options()->set_fsync(fsync);
  auto r = c.create_topic(req);
  if (!r) FAIL("create log topic " << name << ": " << r.err().to_string());
}

inline fc::message keyed(const std::string& key, const std::string& payload) {
  fc::message m(payload);
  m.key = key;
  return m;
}

inline fc::blocking_log_consumer consume(fc::blocking_client& c, fc::consume_options o) {
  auto r = c.consume(std::move(o));
  if (!r) FAIL("consume: " << r.err().to_string());
  return std::move(r.value());
}

// Manual assignment of one partition from `start`.
inline fc::blocking_log_consumer read_partition(fc::blocking_client& c, const std::string& topic,
                                                uint32_t partition, v1::Position start,
                                                uint32_t credit = 0) {
  fc::consume_options o;
  o.topic = topic;
  o.partitions.emplace_back(partition, start);
  o.credit = credit;
  return consume(c, std::move(o));
}

// A record as read back.
struct record {
  uint32_t partition;
  uint64_t offset;
  std::string payload;
};

inline record to_record(const fc::delivery& d) {
  return {d.partition(), d.offset(), std::string(d.payload())};
}

// Reads `n` records, failing the test when one does not come within `timeout`.
inline std::vector<record> take(fc::blocking_log_consumer& c, size_t n,
                                std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  std::vector<record> out;
  while (out.size() < n) {
    auto d = c.next(timeout);
    if (!d) FAIL("got " << out.size() << " of " << n << " records");
    out.push_back(to_record(*d));
  }
  return out;
}

// Confirms of publish_async calls, awaited by the test thread.
struct confirms {
  std::mutex m;
  std::condition_variable cv;
  size_t done = 0, failed = 0;
  std::vector<std::string> errors;
  std::map<size_t, fc::publish_result> results;  // by the caller's index

  auto callback(size_t index) {
    return [this, index](const ferry::error& e, const fc::publish_result& r) {
      std::lock_guard lock(m);
      ++done;
      if (e) {
        ++failed;
        if (errors.size() < 5) errors.push_back(e.to_string());
      } else {
        results[index] = r;
      }
      cv.notify_all();
    };
  }
  bool wait_for(size_t n, std::chrono::milliseconds timeout) {
    std::unique_lock lock(m);
    return cv.wait_for(lock, timeout, [&] { return done >= n; });
  }
};

}  // namespace ferry::testing
