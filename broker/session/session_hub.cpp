#include "broker/session/session_hub.h"

#include "broker/core/log.h"

namespace ferry::broker {

std::string session_hub::room() const {
  if (sessions_.size() >= settings_.max_connections)
    return "the broker serves its maximum number of connections (limits.max_connections)";
  if (pending_handshakes_ >= settings_.max_pending_handshakes)
    return "too many connections are in their handshake (limits.max_pending_handshakes)";
  return {};
}

void session_hub::add(std::shared_ptr<hub_member> s) {
  auto id = s->id();
  if (!s->handshaken()) ++pending_handshakes_;
  sessions_.emplace(id, std::move(s));
}

void session_hub::remove(uint64_t id) {
  auto it = sessions_.find(id);
  if (it == sessions_.end()) return;
  if (!it->second->handshaken() && pending_handshakes_ > 0) --pending_handshakes_;
  sessions_.erase(it);
}

std::vector<std::shared_ptr<hub_member>> session_hub::all() const {
  std::vector<std::shared_ptr<hub_member>> out;
  out.reserve(sessions_.size());
  for (const auto& [id, s] : sessions_)
    out.push_back(s);
  return out;
}

void session_hub::mark_dirty(std::weak_ptr<hub_member> s) {
  dirty_.push_back(std::move(s));
}

void session_hub::mark_deferring(std::weak_ptr<hub_member> s) {
  deferring_.push_back(std::move(s));
}

void session_hub::flush_dirty_sessions() {
  // Sessions flushed may make others dirty (e.g. draining deferred publishes): loop.
  while (!dirty_.empty()) {
    auto batch = std::move(dirty_);
    dirty_.clear();
    for (auto& w : batch)
      if (auto s = w.lock()) s->flush();
  }
}

void session_hub::flush() {
  if (flushing_) return;  // a flush point inside a flush: the outer loop picks it up
  flushing_ = true;
  flush_dirty_sessions();
  // Writing deliveries frees message memory; held publishes then go in, which may fill
  // it again (they stop at the mark and register again) and produce deliveries: loop.
  while (!blocked_now() && !deferring_.empty()) {
    auto batch = std::move(deferring_);
    deferring_.clear();
    for (auto& w : batch)
      if (auto s = w.lock()) s->drain_deferred();
    flush_dirty_sessions();
  }
  bool blocked = blocked_now();
  if (blocked != flow_blocked_) {
    flow_blocked_ = blocked;
    std::string why = blocked ? block_reason() : std::string();
    log::session().warn("publishers {}{}{}", blocked ? "blocked: " : "unblocked", why,
                        blocked ? "" : " (memory and storage are back under their limits)");
    for (auto& s : all())
      if (s->handshaken()) s->on_flow_change(blocked, why);
    flush_dirty_sessions();
  }
  flushing_ = false;
}

void session_hub::set_storage_stopped(bool stopped, std::string why) {
  storage_stopped_ = stopped;
  storage_reason_ = std::move(why);
  flush();  // tells the sessions if that changes the flow-control state
}

std::string session_hub::block_reason() const {
  if (memory_.blocked())
    return "broker memory is over its high-water mark (" + std::to_string(memory_.used()) + " of " +
           std::to_string(memory_.high_watermark()) + " bytes)";
  return "storage has stopped writes until compaction catches up (" + storage_reason_ + ")";
}

}  // namespace ferry::broker
