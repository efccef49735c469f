// session_settings: the limits.* options that sessions (not connections) enforce. Filled
// by the option table (config/option_table.cpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace ferry::broker {

struct session_settings {
  uint64_t max_connections = 10'000;
  // Connections that have not finished their handshake (TLS and Hello) at once.
  uint64_t max_pending_handshakes = 1'000;
  size_t max_deferred_publish_bytes = 64 << 20;
};

}  // namespace ferry::broker
