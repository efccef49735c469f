// session_hub: every live session of the broker, and the flush point of each event.
//
// Owns the sessions (by id) from accept to close. Sessions mark themselves dirty when they
// batched output, or deferring when they hold publishes back; flush(), called at the end
// of every event, writes every dirty session's output, drains held publishes while
// message memory is under the low-water mark, and tells every session when the memory
// high-water state changes (FLOW_BLOCKED / FLOW_UNBLOCKED). Loop only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <vector>

#include "broker/session/session_settings.h"
#include "broker/topics/message.h"

namespace ferry::broker {

// What the hub asks of each session (session implements it).
class hub_member {
 public:
  virtual uint64_t id() const = 0;
  virtual bool handshaken() const = 0;
  // Writes batched deliveries and queued output.
  virtual void flush() = 0;
  // Handles held-back publishes while memory is under the low-water mark.
  virtual void drain_deferred() = 0;
  // The memory high-water state changed.
  virtual void on_flow_change(bool blocked) = 0;
  // The broker is stopping: tell the client, write what is queued, then close.
  virtual void shut_down() = 0;
  // Closes every consumer of the session (at shutdown, before the subsystems go).
  virtual void close_consumers() = 0;

 protected:
  ~hub_member() = default;
};

class session_hub {
 public:
  session_hub(memory_accountant& memory, session_settings settings)
      : memory_(memory), settings_(settings) {}

  const session_settings& settings() const { return settings_; }
  memory_accountant& memory() { return memory_; }

  // ---- sessions ----
  uint64_t next_session_id() { return ++last_session_id_; }
  // Whether another connection may be served (limits.max_connections).
  bool has_room() const { return sessions_.size() < settings_.max_connections; }
  void add(std::shared_ptr<hub_member> s);
  void remove(uint64_t id);
  size_t count() const { return sessions_.size(); }
  // A copy: callers may close sessions while they go through it.
  std::vector<std::shared_ptr<hub_member>> all() const;

  // ---- flush points ----
  void mark_dirty(std::weak_ptr<hub_member> s);
  // `s` holds publishes back until memory is under the low-water mark again.
  void mark_deferring(std::weak_ptr<hub_member> s);
  // Call at the end of every event that may produce output.
  void flush();
  bool flow_blocked() const { return flow_blocked_; }

 private:
  void flush_dirty_sessions();

  memory_accountant& memory_;
  session_settings settings_;
  uint64_t last_session_id_ = 0;
  std::map<uint64_t, std::shared_ptr<hub_member>> sessions_;
  std::vector<std::weak_ptr<hub_member>> dirty_;
  std::vector<std::weak_ptr<hub_member>> deferring_;
  bool flushing_ = false;
  bool flow_blocked_ = false;
};

}  // namespace ferry::broker
