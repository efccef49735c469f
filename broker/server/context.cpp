#include "broker/server/context.h"

#include "broker/core/log.h"
#include "broker/session/session.h"

namespace ferry::broker {

server_context::server_context(const broker_options& opts, registry& reg, storage::engine& engine,
                               std::function<void(task)> post_to_loop,
                               std::function<void(task)> post_to_storage)
    : opts_(opts),
      reg_(reg),
      engine_(engine),
      post_to_loop_(std::move(post_to_loop)),
      post_to_storage_(std::move(post_to_storage)) {}

void server_context::persist(meta_changes changes, std::function<void(ferry::error)> done) {
  if (changes.empty()) {
    done({});
    return;
  }
  post_to_storage_([this, changes = std::move(changes), done = std::move(done)]() mutable {
    ferry::error err = engine_.meta().apply(changes);
    if (err) log::storage().error("writing definitions failed: {}", err.to_string());
    post_to_loop_([this, err = std::move(err), done = std::move(done)]() mutable {
      reg_.begin_event();
      done(err);
      flush();
    });
  });
}

void server_context::add_session(std::shared_ptr<session> s) {
  auto id = s->id();
  sessions_.emplace(id, std::move(s));
}

void server_context::remove_session(uint64_t id) {
  sessions_.erase(id);
}

void server_context::mark_dirty(session& s) {
  dirty_.push_back(s.weak_from_this());
}

void server_context::mark_deferring(session& s) {
  deferring_.push_back(s.weak_from_this());
}

void server_context::flush_dirty_sessions() {
  // Sessions flushed may make others dirty (e.g. draining deferred publishes): loop.
  while (!dirty_.empty()) {
    auto batch = std::move(dirty_);
    dirty_.clear();
    for (auto& w : batch)
      if (auto s = w.lock()) s->flush();
  }
}

void server_context::flush() {
  if (flushing_) return;  // a flush point inside a flush: the outer loop picks it up
  flushing_ = true;
  flush_dirty_sessions();
  // Writing deliveries frees message memory; held publishes then go in, which may fill
  // it again (they stop at the mark and register again) and produce deliveries: loop.
  while (!reg_.memory().blocked() && !deferring_.empty()) {
    auto batch = std::move(deferring_);
    deferring_.clear();
    for (auto& w : batch)
      if (auto s = w.lock()) s->drain_deferred();
    flush_dirty_sessions();
  }
  bool blocked = reg_.memory().blocked();
  if (blocked != flow_blocked_) {
    flow_blocked_ = blocked;
    log::topics().warn("message memory {} bytes: publishers {} (high-water mark {} bytes)",
                       reg_.memory().used(), blocked ? "blocked" : "unblocked",
                       reg_.memory().high_watermark());
    for (auto& [id, s] : std::map(sessions_))
      if (s->handshaken()) s->on_flow_change(blocked);
    flush_dirty_sessions();
  }
  flushing_ = false;
}

}  // namespace ferry::broker
