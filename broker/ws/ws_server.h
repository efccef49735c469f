// ws_server: the WebSocket front end (GET /v1/ws, docs/PROTOCOL.md "WebSocket"). Its route
// takes the HTTP connection over (101 Switching Protocols); each connection is then a
// Beast websocket stream over the same transport (plain or TLS) with a ws_session for the
// protocol. Ping/pong and the idle timeout are Beast's (a ping at half of
// http.ws_idle_timeout_ms without input, closed at all of it); a write that takes longer
// than http.ws_write_timeout_ms, or output over http.ws_max_outbound_bytes, cuts the
// client off. Beast and Asio stay out of this header. Loop only.
#pragma once

#include <cstdint>
#include <memory>

#include "broker/ws/ws_session.h"

namespace ferry::broker {

class metrics_registry;
class router;

struct ws_probe {
  uint64_t connections_accepted = 0;
  uint64_t cut_off = 0;  // a client that did not read (write timeout, output limit)
  uint64_t messages_in = 0;
  uint64_t messages_out = 0;
};

class ws_server {
 public:
  explicit ws_server(const ws_environment& env);
  ~ws_server();

  // GET /v1/ws on `r`: any authenticated principal; each request is authorized itself.
  void add_routes(router& r);
  // Closes every connection ("going away"); their consumers' deliveries are requeued.
  void stop();
  size_t connections() const;
  const ws_probe& probe() const;
  // ferry_websocket_* on /metrics.
  void add_metrics(metrics_registry& reg) const;

  struct impl;  // ws_server.cpp: shared with its connections

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace ferry::broker
