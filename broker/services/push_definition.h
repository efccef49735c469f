// push_definition: a subscription's push endpoint (ferry.v1.PushEndpoint) checked and
// resolved against the defaults, for the service that stores it and the push front end
// that calls it (broker/push/). docs/HTTP.md, "Push subscriptions".
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "ferry/v1/admin.pb.h"

#include "proto/codec/errc.h"

namespace ferry::broker {

struct push_settings {
  std::string url;
  std::string host;
  std::string port;    // "80" ("443" for https) when the URL names none
  bool tls = false;    // https
  std::string target;  // path and query, "/" at least
  std::vector<std::pair<std::string, std::string>> headers;
  uint32_t timeout_ms = 10'000;
  uint32_t max_in_flight = 16;
  uint32_t min_backoff_ms = 100;
  uint32_t max_backoff_ms = 60'000;
  bool structured = false;
};

// INVALID_ARGUMENT naming what is wrong; `out` holds the endpoint with the defaults in
// place of zeros.
ferry::error resolve_push(const v1::PushEndpoint& in, push_settings& out);

// Told when a subscription's push endpoint is set, changed or removed (also by the
// subscription's deletion), once the change is durable, and asked for its statistics.
// broker/push/push_registry is the one listener.
class push_listener {
 public:
  virtual void push_changed(const std::string& subscription, const v1::PushEndpoint* push) = 0;
  virtual void push_stats(const std::string& subscription, v1::PushStats& out) const = 0;

 protected:
  ~push_listener() = default;
};

}  // namespace ferry::broker
