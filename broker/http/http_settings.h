// http_settings: the HTTP listener's and /metrics' settings with their defaults (the
// option table documents each: http.*, metrics.*).
#pragma once

#include <cstdint>
#include <string>

namespace ferry::broker {

struct http_settings {
  // HOST:PORT of the HTTP listener; empty = no HTTP listener.
  std::string listen = "127.0.0.1:7412";
  uint64_t max_connections = 1024;
  uint64_t max_body_bytes = 1 << 20;
  uint64_t max_header_bytes = 16 << 10;
  // A connection with no request under way is closed after this long.
  uint64_t idle_timeout_ms = 60'000;
  // A request must arrive in full (headers and body), and its response must be written,
  // within this long: a client that trickles bytes is closed.
  uint64_t request_timeout_ms = 10'000;
  // /metrics: topics (and their subscriptions, partitions and groups) named one by one;
  // the others are summed into series labelled "~other".
  uint64_t metrics_max_topics = 1000;
  // Retried publishes (POST /v1/topics/{name}/messages) are recognised by their
  // Idempotency-Key, or a CloudEvent's source and id, for this long and up to this many
  // keys (in memory: a restart forgets them).
  uint64_t idempotency_window_ms = 600'000;
  uint64_t idempotency_keys = 100'000;
  // WebSockets (GET /v1/ws): the largest message a client may send (and about the size of
  // the delivery messages the broker writes); a ping after half the idle timeout without
  // input, closed after all of it; a client is cut off when a write takes longer than the
  // write timeout or its unsent output passes the outbound limit (deliveries pause at
  // half of it, at most 4 MiB).
  uint64_t ws_max_message_bytes = 1 << 20;
  uint64_t ws_idle_timeout_ms = 60'000;
  uint64_t ws_write_timeout_ms = 30'000;
  uint64_t ws_max_outbound_bytes = 64 << 20;
};

}  // namespace ferry::broker
