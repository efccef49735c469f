// routes: the HTTP side's routes, one function per family, each adding its rows to the
// router. Handlers call the service layer (services/), the same code the binary
// protocol's handlers call, so REST and the wire protocol cannot drift.
#pragma once

#include <functional>
#include <string>

#include "broker/http/metrics.h"
#include "broker/http/router.h"

namespace ferry::broker {

class group_service;
class idempotency_window;
class memory_accountant;
class publish_service;
class quotas;
class security_service;
class topic_service;
class loop_clock;

struct readiness {
  bool ready = false;
  std::string reason;  // why not, when not ready
};

// /livez, /readyz, /version.
void add_probe_routes(router& r, std::function<readiness()> ready, std::string version);
// /metrics: the snapshot on the loop, rendered on `off_loop`, answered on `on_loop`.
void add_metrics_routes(router& r, const metrics_registry& metrics, post_fn off_loop,
                        post_fn on_loop);
// The dashboard at / (one page compiled in, dashboard.html) and what it reads besides the
// admin API: /v1/stats, the broker-wide metrics as JSON.
void add_dashboard_routes(router& r, const metrics_registry& metrics, std::string version);
// /v1/topics, /v1/subscriptions, /v1/groups.
void add_admin_routes(router& r, topic_service& topics, group_service& groups);
// /v1/users, /v1/tokens, /v1/acls, /v1/whoami.
void add_security_routes(router& r, security_service& security);

// What publishing over HTTP uses besides the publish service: the flow-control state, the
// principal's quotas (a publish over its rate is answered late, by as long as the binary
// protocol's connection would read nothing), the retry window, and a timer.
struct http_publish_env {
  publish_service& publishing;
  const memory_accountant& memory;
  quotas& limits;
  idempotency_window& retries;
  const loop_clock& now;
  size_t max_message_bytes;
  // Runs `fn` on the loop after `ms` milliseconds.
  std::function<void(int64_t ms, std::function<void()> fn)> after;
};
// POST /v1/topics/{name}/messages (publish_input.h: CloudEvents, JSON, plain bodies).
void add_publish_routes(router& r, http_publish_env env);

}  // namespace ferry::broker
