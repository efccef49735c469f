// server_context: what sessions and handlers share: options, the topic registry, the
// storage thread, the set of live sessions and the flush list.
//
// Owned by the server; lives on the broker loop. Asio stays out of this header: the
// server installs the two ways to run work (on the loop, on the storage thread).
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <vector>

#include "broker/config/options.h"
#include "broker/topics/registry.h"
#include "storage/engine.h"

namespace ferry::broker {

class session;

struct broker_counters {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;
  uint64_t frames_received = 0;
  uint64_t messages_published = 0;
  uint64_t slow_consumers = 0;
};

class server_context {
 public:
  using task = std::function<void()>;

  server_context(const broker_options& opts, registry& reg, storage::engine& engine,
                 std::function<void(task)> post_to_loop, std::function<void(task)> post_to_storage);

  const broker_options& options() const { return opts_; }
  registry& topics() { return reg_; }
  broker_counters& counters() { return counters_; }

  // Writes definition changes (synced) on the storage thread, then calls `done` on the
  // loop with the outcome. With no changes, calls `done` at once.
  void persist(meta_changes changes, std::function<void(ferry::error)> done);

  // ---- sessions ----
  uint64_t next_session_id() { return ++last_session_id_; }
  void add_session(std::shared_ptr<session> s);
  void remove_session(uint64_t id);
  size_t session_count() const { return sessions_.size(); }
  const std::map<uint64_t, std::shared_ptr<session>>& sessions() const { return sessions_; }

  // ---- flush points ----
  void mark_dirty(session& s);
  // `s` holds publishes back until memory is under the low-water mark again.
  void mark_deferring(session& s);
  // Writes every dirty session's output, then tells sessions if the memory high-water
  // state changed. Call at the end of every event that may produce output.
  void flush();
  bool flow_blocked() const { return flow_blocked_; }

 private:
  void flush_dirty_sessions();

  const broker_options& opts_;
  registry& reg_;
  storage::engine& engine_;
  std::function<void(task)> post_to_loop_;
  std::function<void(task)> post_to_storage_;
  broker_counters counters_;
  uint64_t last_session_id_ = 0;
  std::map<uint64_t, std::shared_ptr<session>> sessions_;
  std::vector<std::weak_ptr<session>> dirty_;
  std::vector<std::weak_ptr<session>> deferring_;
  bool flushing_ = false;
  bool flow_blocked_ = false;
};

}  // namespace ferry::broker
