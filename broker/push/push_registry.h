// push_registry: the push subscriptions' endpoints (push_endpoint), made, replaced and
// removed as the definitions change (topic_service tells it: push_listener), and their
// statistics for describe. Loop only.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "broker/push/push_config.h"
#include "broker/push/push_endpoint.h"
#include "broker/services/push_definition.h"

namespace ferry::broker {

class push_registry final : public push_listener {
 public:
  // Makes the TLS client context of https endpoints from `config` (its CA file, else the
  // system's CAs); when that fails, https endpoints do not start (logged).
  push_registry(push_endpoint::environment env, const push_config& config);
  ~push_registry();

  void push_changed(const std::string& subscription, const v1::PushEndpoint* push) override;
  void push_stats(const std::string& subscription, v1::PushStats& out) const override;
  // Detaches every endpoint (their deliveries in flight go back to the queues); changes
  // told afterwards (the broker is stopping) start nothing.
  void stop_all();

 private:
  std::unique_ptr<boost::asio::ssl::context> tls_;
  push_endpoint::environment env_;
  bool stopped_ = false;
  std::map<std::string, std::shared_ptr<push_endpoint>, std::less<>> endpoints_;
};

}  // namespace ferry::broker
