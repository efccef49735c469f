// subscription_feed: a subscription fed from a log topic instead of memory topics (a shared
// subscription, PROTOCOL.md 9.9). queue_registry owns every subscription, so consumers,
// settling, push endpoints, WebSockets and describing work the same for both; the feed
// (shares/) fills the subscription from the log, keeps its delivery state in storage and
// is its subscription_env. queue_registry is given the factory (subscription_feeds).
#pragma once

#include <memory>
#include <string>

#include "ferry/v1/admin.pb.h"

#include "broker/catalog/catalog.h"
#include "broker/queues/subscription.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

class subscription_feed : public subscription_env {
 public:
  virtual ~subscription_feed() = default;
  // The subscription exists: start filling it.
  virtual void start(subscription& s) = 0;
  // Adds what only the feed knows (the records not read yet count as ready).
  virtual void describe(v1::SubscriptionInfo& out) const = 0;
  // What it keeps in storage, created with the subscription's definition (the start of a
  // new one) or erased with it: in the same catalog batch, so neither is ever without
  // the other.
  virtual void record_state(catalog_batch& b) const = 0;
  virtual void erase_state(catalog_batch& b) const = 0;
};

class subscription_feeds {
 public:
  // A feed for durable subscription `name` on log topic `target` (its pattern names it);
  // an error when `o` does not apply. `recovered`: the subscription existed before this
  // start (its state is in storage); else it starts at the log's end.
  virtual ferry::error make(const std::string& name, std::string_view target,
                            const subscription_options& o, bool recovered,
                            std::unique_ptr<subscription_feed>& out) = 0;

 protected:
  ~subscription_feeds() = default;
};

}  // namespace ferry::broker
