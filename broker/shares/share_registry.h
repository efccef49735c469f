// share_registry: makes the feeds of shared subscriptions on log topics (PROTOCOL.md 9.9)
// for queue_registry (queues/subscription_feed.h): checks what a shared subscription may
// be, and loads a recovered one's delivery state from storage (a new one's is written with
// its definition, a deleted one's erased with it: log_share::record_state, erase_state).
// Owns the context every log_share works with; outlives them (the server resets the
// queue registry first). Loop only.
#pragma once

#include "broker/queues/subscription_feed.h"
#include "broker/shares/log_share.h"

namespace ferry::broker {

class log_registry;

class share_registry final : public subscription_feeds {
 public:
  share_registry(log_registry& logs, share_context ctx) : logs_(logs), ctx_(std::move(ctx)) {
    ctx_.settles_waiting = &settles_waiting_;
  }
  // Acks and nacks read but not answered yet, waiting for their state to be written (a
  // drain waits for 0).
  size_t settles_waiting() const { return settles_waiting_; }

  ferry::error make(const std::string& name, std::string_view topic, const subscription_options& o,
                    bool recovered, std::unique_ptr<subscription_feed>& out) override;

 private:
  // The stored states of `name`, one per partition (blocking: at start only).
  ferry::error load(const std::string& name, uint32_t partitions,
                    std::vector<share_state>& out) const;

  log_registry& logs_;
  share_context ctx_;
  size_t settles_waiting_ = 0;
};

}  // namespace ferry::broker
