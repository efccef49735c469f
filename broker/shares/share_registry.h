// share_registry: makes the feeds of shared subscriptions on log topics (PROTOCOL.md 9.9)
// for queue_registry (queues/subscription_feed.h): checks what a shared subscription may
// be, loads a recovered one's delivery state from storage, and erases a deleted one's.
// Owns the context every log_share works with; outlives them (the server resets the
// queue registry first). Loop only.
#pragma once

#include "broker/queues/subscription_feed.h"
#include "broker/shares/log_share.h"

namespace ferry::broker {

class log_registry;

class share_registry final : public subscription_feeds {
 public:
  share_registry(log_registry& logs, share_context ctx) : logs_(logs), ctx_(std::move(ctx)) {}

  ferry::error make(const std::string& name, std::string_view topic, const subscription_options& o,
                    bool recovered, std::unique_ptr<subscription_feed>& out) override;
  void removed(const std::string& name) override;

 private:
  // The stored states of `name`, one per partition (blocking: at start only).
  ferry::error load(const std::string& name, uint32_t partitions,
                    std::vector<share_state>& out) const;

  log_registry& logs_;
  share_context ctx_;
};

}  // namespace ferry::broker
