// connection_limits: the per-connection limits of the wire listener (limits.* options).
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace ferry::broker {

struct connection_limits {
  uint32_t max_frame_bytes = 16 << 20;
  size_t max_outbound_bytes = 64 << 20;
  int64_t write_timeout_ms = 30'000;
  int64_t handshake_timeout_ms = 10'000;

  // The pause mark: above this much unsent output a connection is not read, and no more
  // deliveries are batched for it (PROTOCOL.md 9.5, 13).
  size_t pause_outbound_bytes() const { return std::min<size_t>(4 << 20, max_outbound_bytes / 2); }
};

}  // namespace ferry::broker
