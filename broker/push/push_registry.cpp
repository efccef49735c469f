#include "broker/push/push_registry.h"

#include "broker/core/log.h"
#include "support/tls_client.h"

namespace ferry::broker {

namespace ssl = boost::asio::ssl;

push_registry::push_registry(push_endpoint::environment env, const push_config& config)
    : tls_(std::make_unique<ssl::context>(ssl::context::tls_client)), env_(std::move(env)) {
  if (auto ec = tls_client::setup(*tls_, config.ca_file)) {
    log::queues().error("push: https endpoints will not start: push.ca_file {}: {}",
                        config.ca_file.empty() ? "(the system's CAs)" : config.ca_file,
                        ec.message());
    tls_.reset();
  }
  env_.tls = tls_.get();
}

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
  if (settings.tls && env_.tls == nullptr) {
    log::queues().warn("push {}: not started: no TLS client context (push.ca_file)", subscription);
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
