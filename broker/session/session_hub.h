// session_hub: every live session of the broker, and the flush point of each event.
//
// Owns the sessions (by id) from accept to close. Sessions mark themselves dirty when they
// batched output, or deferring when they hold publishes back; flush(), called at the end
// of every event, writes every dirty session's output, drains held publishes while
// publishing is not blocked, and tells every session when that changes (FLOW_BLOCKED /
// FLOW_UNBLOCKED). Publishing is blocked while message memory is over its high-water mark
// (until it is back under the low-water mark), or while storage has stopped writes (a
// RocksDB write stall: compaction is behind). Loop only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
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
  // The flow-control state changed; `why` says what blocks publishes (when blocked).
  virtual void on_flow_change(bool blocked, std::string_view why) = 0;
  // The broker is stopping: tell the client and read no more requests (those already
  // read are still answered).
  virtual void begin_drain() = 0;
  // Then, once they are answered: write what is queued and close.
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
  // Why another connection may not be served (limits.max_connections,
  // limits.max_pending_handshakes), or "" when it may.
  std::string room() const;
  // A session finished its handshake (it no longer counts as pending).
  void handshake_done() {
    if (pending_handshakes_ > 0) --pending_handshakes_;
  }
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
  // Whether new publishes are held: what sessions were last told, or a newer state.
  bool flow_blocked() const { return flow_blocked_ || blocked_now(); }
  // Whether memory or storage block publishing at this moment (held ones drain when not).
  bool blocked_now() const { return memory_.blocked() || storage_stopped_; }
  // Storage stopped writes (`why` says how far behind it is), or writes again.
  void set_storage_stopped(bool stopped, std::string why);

 private:
  void flush_dirty_sessions();
  std::string block_reason() const;

  memory_accountant& memory_;
  session_settings settings_;
  uint64_t last_session_id_ = 0;
  std::map<uint64_t, std::shared_ptr<hub_member>> sessions_;
  uint64_t pending_handshakes_ = 0;
  std::vector<std::weak_ptr<hub_member>> dirty_;
  std::vector<std::weak_ptr<hub_member>> deferring_;
  bool flushing_ = false;
  bool flow_blocked_ = false;
  bool storage_stopped_ = false;
  std::string storage_reason_;
};

}  // namespace ferry::broker
