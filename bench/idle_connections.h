// measure_idle_connections: what every driver's connections-N run shares, so that each
// system is measured the same way: enough open files, the server's VmRSS before the
// connections and after they have settled (the same time for every system), and the
// growth per connection into the measurement.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

#include "bench/broker_stats.h"
#include "bench/driver.h"
#include "bench/measurement.h"
#include "bench/workload.h"

namespace ferry::bench {

// After the last connection, before reading the server's RSS: allocations on the first
// read, session setup.
inline constexpr auto idle_settle = std::chrono::seconds(1);

// `open(error)` opens w.idle_connections connections (the caller keeps them open until the
// run ends) and returns how many it opened; on failure it sets `error`. Returns an error
// text, or empty.
template <typename Open>
std::string measure_idle_connections(const workload& w, const endpoint& at, measurement& m,
                                     Open open) {
  uint64_t need = uint64_t{w.idle_connections} + 256;
  if (uint64_t limit = raise_open_files_limit(); limit < need) {
    std::string why = "idle connections: need about ";
    why.append(std::to_string(need)).append(" open files, RLIMIT_NOFILE allows ");
    return why.append(std::to_string(limit));
  }
  auto before = read_broker_stats(at.server_pid).rss_bytes;
  std::string error;
  uint64_t opened = open(error);
  if (!error.empty()) return error;
  std::this_thread::sleep_for(idle_settle);
  auto after = read_broker_stats(at.server_pid).rss_bytes;
  m.idle_connections(opened, static_cast<int64_t>(before), static_cast<int64_t>(after));
  return {};
}

}  // namespace ferry::bench
