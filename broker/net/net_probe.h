// net_probe: the wire listener's and connections' counters since start, the one object
// /metrics reads for them. Owned by the server, shared by the listener and every
// connection; loop only.
#pragma once

#include <cstdint>

namespace ferry::broker {

struct net_probe {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // limits.max_connections
  uint64_t frames_in = 0;
  uint64_t bytes_in = 0;
  uint64_t frames_out = 0;
  uint64_t bytes_out = 0;
  uint64_t slow_consumers = 0;  // closed for a write timeout or unread output
};

}  // namespace ferry::broker
