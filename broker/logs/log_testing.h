// Test helpers for log topics: a log_port whose operations run only when the test says
// so, and Publish frames built by the codec.
//
// testing_port queues every operation a log_topic asks for. Nothing runs until the test
// calls run_one(), run_next(kind) or run_all(); the operation then runs against the
// port's memory_log_store and completes at once, on the test's thread. So a test decides
// which write, read or truncation lands first, and nothing sleeps. Test code only; one
// thread.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/v1/publish.pb.h"

#include "broker/logs/log_topic.h"
#include "proto/codec/frame_codec.h"
#include "storage/append_fence.h"
#include "storage/memory/memory_log_store.h"

namespace ferry::broker::testing {

class testing_port final : public log_port {
 public:
  enum class op { append, sync_wal, read, offset_for_time, truncate_prefix, drop_partition };

  // What the topic asked for, recorded when it asked (not when the operation ran).
  struct append_call {
    storage::partition_id pid;
    uint64_t first_offset = 0;
    size_t records = 0;
    bool sync = false;
  };
  struct read_call {
    storage::partition_id pid;
    uint64_t from = 0;
    size_t max_records = 0;
  };
  struct truncate_call {
    storage::partition_id pid;
    uint64_t new_start = 0;
  };

  // The records. Tests may use it directly: fail_writes_for_test(), bounds(), read().
  storage::memory_log_store store;
  std::vector<append_call> appends;
  std::vector<read_call> reads;
  std::vector<truncate_call> truncations;
  std::vector<int64_t> time_lookups;  // ts_ms of each offset_for_time
  size_t sync_wals = 0;

  // The next append that runs fails with `err` and writes nothing (a failure of the port
  // rather than of the store).
  void fail_next_append(ferry::error err) { next_append_error_ = std::move(err); }

  size_t queued() const { return queue_.size(); }
  size_t queued(op kind) const {
    size_t n = 0;
    for (const auto& q : queue_)
      n += q.kind == kind ? 1 : 0;
    return n;
  }
  // Runs the oldest queued operation; false when none is queued.
  bool run_one() {
    if (queue_.empty()) return false;
    auto q = std::move(queue_.front());
    queue_.pop_front();
    q.run();
    return true;
  }
  // Runs the oldest queued operation of this kind; false when none is queued.
  bool run_next(op kind) {
    for (auto it = queue_.begin(); it != queue_.end(); ++it) {
      if (it->kind != kind) continue;
      auto q = std::move(*it);
      queue_.erase(it);
      q.run();
      return true;
    }
    return false;
  }
  // Runs operations, oldest first, until none is queued (completions may queue more).
  // Returns how many ran; stops after `limit` so that a livelock fails instead of hanging.
  size_t run_all(size_t limit = 100000) {
    size_t n = 0;
    while (n < limit && run_one())
      ++n;
    return n;
  }

  // log_port
  void append(storage::partition_append a, bool sync, done_fn done) override {
    appends.push_back({a.pid, a.first_offset, a.count(), sync});
    enqueue(op::append, [this, a = std::move(a), sync, done = std::move(done)] {
      // Like the group committer: an append behind a failed one is refused.
      ferry::error err;
      if (!fence_.admit(a, err)) return done(err);
      err = std::exchange(next_append_error_, {});
      if (!err) {
        const storage::partition_append* batch[] = {&a};
        err = store.append(batch, sync);
      }
      if (err) fence_.failed(a, err);
      done(err);
    });
  }
  void sync_wal(done_fn done) override {
    ++sync_wals;
    enqueue(op::sync_wal, [this, done = std::move(done)] { done(store.sync_wal()); });
  }
  void read(storage::partition_id pid, uint64_t from, size_t max_records, size_t max_bytes,
            read_fn done) override {
    reads.push_back({pid, from, max_records});
    enqueue(op::read, [this, pid, from, max_records, max_bytes, done = std::move(done)] {
      read_result res;
      res.err = store.read(pid, from, max_records, max_bytes, res.buffer, res.records);
      done(std::move(res));
    });
  }
  void offset_for_time(storage::partition_id pid, int64_t ts_ms, offset_fn done) override {
    time_lookups.push_back(ts_ms);
    enqueue(op::offset_for_time, [this, pid, ts_ms, done = std::move(done)] {
      uint64_t off = 0;
      ferry::error err = store.offset_for_time(pid, ts_ms, off);
      done(err, off);
    });
  }
  void truncate_prefix(storage::partition_id pid, uint64_t new_start, done_fn done) override {
    truncations.push_back({pid, new_start});
    enqueue(op::truncate_prefix, [this, pid, new_start, done = std::move(done)] {
      done(store.truncate_prefix(pid, new_start));
    });
  }
  void drop_partition(storage::partition_id pid, done_fn done) override {
    enqueue(op::drop_partition,
            [this, pid, done = std::move(done)] { done(store.drop_partition(pid)); });
  }

 private:
  struct queued_op {
    op kind;
    std::function<void()> run;
  };
  void enqueue(op kind, std::function<void()> run) { queue_.push_back({kind, std::move(run)}); }

  std::deque<queued_op> queue_;
  ferry::error next_append_error_;
  storage::append_fence fence_;
};

// (key, payload) of one message to publish.
using keyed_message = std::pair<std::string, std::string>;

// A whole Publish frame (length prefix included), encoded by the codec as a client does.
inline std::vector<uint8_t> publish_frame(std::string_view topic,
                                          const std::vector<keyed_message>& messages,
                                          std::optional<uint32_t> partition = std::nullopt,
                                          std::string_view producer_id = {},
                                          uint64_t first_sequence = 0) {
  std::vector<uint8_t> encoded;
  for (const auto& [key, payload] : messages) {
    codec::message_fields f;
    f.key = key;
    f.payload = payload;
    codec::append_publish_message(encoded, f, {});
  }
  codec::publish_view head{topic, producer_id, first_sequence, partition};
  std::vector<uint8_t> frame;
  codec::append_publish_frame(frame, 1, head, wire::as_view(encoded));
  return frame;
}

// What a log topic answered to one Publish frame.
struct publish_answer {
  bool answered = false;
  ferry::error err;  // a whole-frame refusal
  v1::PublishOk ok;
};

// Hands one Publish frame to `t` the way the publish handler does (one buffer for the
// frame body, messages as views into it). The answer fills in when the topic gives it.
inline std::shared_ptr<publish_answer> publish(log_topic& t, const std::vector<uint8_t>& frame) {
  auto answer = std::make_shared<publish_answer>();
  std::string_view bytes;
  size_t consumed = 0;
  codec::frame_view fv;
  codec::publish_view pv;
  std::vector<std::string_view> messages;
  if (codec::split_frame(wire::as_view(frame), 1u << 30, bytes, consumed) !=
          codec::split_status::complete ||
      codec::parse_frame(bytes, fv) != errc::ok || fv.kind != codec::body::publish) {
    answer->answered = true;
    answer->err = {make_error_code(errc::malformed_frame), "not a Publish frame"};
    return answer;
  }
  if (codec::parse_publish(fv.bytes, pv, messages) != errc::ok) {
    answer->answered = true;
    answer->err = {make_error_code(errc::malformed_frame), "not a valid Publish"};
    return answer;
  }
  publish_request r{fv.bytes, pv, messages};
  t.publish(r, [answer](const ferry::error& err, v1::PublishOk&& ok) {
    answer->answered = true;
    answer->err = err;
    answer->ok = std::move(ok);
  });
  return answer;
}

}  // namespace ferry::broker::testing
