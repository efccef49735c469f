#include "broker/push/push_registry.h"

#include "broker/core/log.h"

namespace ferry::broker {

push_registry::~push_registry() {
  stop_all();
}

void push_registry::push_changed(const std::string& subscription, const v1::PushEndpoint* push) {
  if (auto it = endpoints_.find(subscription); it != endpoints_.end()) {
    it->second->stop();
    endpoints_.erase(it);
  }
  if (stopped_ || push == nullptr || push->url().empty()) return;
  push_settings settings;
  if (auto err = resolve_push(*push, settings)) {  // stored before this version checked it
    log::queues().warn("push {}: not started: {}", subscription, err.to_string());
    return;
  }
  auto endpoint = std::make_shared<push_endpoint>(env_, subscription, std::move(settings));
  endpoints_.emplace(subscription, endpoint);
  endpoint->start();
}

void push_registry::push_stats(const std::string& subscription, v1::PushStats& out) const {
  if (auto it = endpoints_.find(subscription); it != endpoints_.end()) out = it->second->stats();
}

void push_registry::stop_all() {
  stopped_ = true;
  for (auto& [name, endpoint] : endpoints_)
    endpoint->stop();
  endpoints_.clear();
}

}  // namespace ferry::broker
