// idempotency: retried HTTP publishes recognised (docs/HTTP.md, "Retries"). A key names
// one publish: a request's Idempotency-Key, or one CloudEvent's source and id, each per
// topic. It is pending while its publish is under way (a retry waits for the outcome),
// done once confirmed (a retry is answered from the record, not stored again), and
// forgotten when the publish failed (a retry goes through). At most `max_keys` records are
// kept, none for longer than `window_ms`; in memory only, so a restart forgets them.
// Loop only.
#pragma once

#include <algorithm>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "broker/http/http_message.h"

namespace ferry::broker {

class idempotency_window {
 public:
  struct record {
    bool pending = true;
    uint64_t serial = 0;
    // A request's key: the answer it had (out of line: records move when the table
    // grows). An event's key: where it went (log topics).
    std::shared_ptr<const http_response> answer;
    bool positioned = false;
    uint32_t partition = 0;
    uint64_t offset = 0;
    std::vector<std::function<void()>> waiters;  // retries waiting for a pending record
  };

  idempotency_window(uint64_t max_keys, uint64_t window_ms)
      : max_keys_(max_keys), window_ms_(static_cast<int64_t>(window_ms)) {
    keys_.reserve(std::min<uint64_t>(max_keys, 4096));
  }

  bool enabled() const { return max_keys_ > 0 && window_ms_ > 0; }
  // The record of `key`, or null. Valid until the next begin().
  record* find(const std::string& key, int64_t now_ms);
  // A new pending record for `key` (which find() did not have).
  record& begin(const std::string& key, int64_t now_ms);
  // The publish of `key` is confirmed: the record is kept (filled in by the caller
  // first), and the retries that waited run.
  void finish(const std::string& key);
  // The publish of `key` failed: the record goes, and the retries that waited run.
  void forget(const std::string& key);

 private:
  void evict(int64_t now_ms);
  static void wake(std::vector<std::function<void()>> waiters);

  uint64_t max_keys_;
  int64_t window_ms_;
  uint64_t next_serial_ = 0;
  boost::unordered_flat_map<std::string, record> keys_;
  struct stamp {
    int64_t at_ms;
    uint64_t serial;
    std::string key;
  };
  std::deque<stamp> order_;  // oldest first; stale stamps (their record gone) are skipped
};

}  // namespace ferry::broker
