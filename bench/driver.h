// driver: runs a workload against one messaging system through its own client library.
//
// One driver per system behind this interface (like the OpenMessaging Benchmark's): ferry
// (libferry), RabbitMQ (rabbitmq-c), NATS core and JetStream (cnats), Redis pub/sub and
// streams (hiredis). Each chooses its own threads and client API, and reports through a
// measurement (measurement.h): stamped payloads out, received payloads in, confirms.
// Peer drivers are compiled only when their client library is installed; a missing one is
// listed as unavailable, never a build failure.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <sys/types.h>

#include "bench/measurement.h"
#include "bench/workload.h"
#include "proto/codec/errc.h"

namespace ferry::bench {

struct endpoint {
  std::string host = "127.0.0.1";
  uint16_t port = 0;
  pid_t server_pid = 0;  // for CPU and memory figures; 0 = unknown
  std::string data_dir;  // the server's data files, for cold reads; empty = unknown
  // ferry only: TLS with this CA file (empty: plain TCP); a user to log in as (SCRAM).
  std::string tls_ca_file, user, password;
};

class driver {
 public:
  virtual ~driver() = default;
  // "ferry", "rabbitmq", "nats", "jetstream", "redis-pubsub", "redis-streams".
  virtual std::string name() const = 0;
  // Why this system has no equivalent of `w` (empty when it does), e.g. "NATS core has no
  // acknowledgements".
  virtual std::string unsupported(const workload& w) const = 0;
  // What `w` becomes on this system, stated against ferry's setting, durability
  // differences named (e.g. "JetStream file stream; fsync every 2 min (sync_interval),
  // ferry fsyncs before each ack").
  virtual std::string equivalence(const workload& w) const = 0;
  // Runs the workload (setup, warm-up, window, drain, teardown), filling `m`. Blocking and
  // bounded: it returns within warmup + duration + a fixed margin (catch-up runs: their
  // write and read). An error means the run failed (m is then not meaningful).
  virtual ferry::error run(const workload& w, const endpoint& at, measurement& m) = 0;
  // Workloads with idle_topics: before run(), creates w.idle_topics topics that nothing
  // uses (each the system's persistent equivalent of a one-partition log topic, empty),
  // left to the server. Blocking and bounded.
  virtual ferry::error create_idle_topics(const workload& w, const endpoint& at) = 0;
};

// Every driver compiled in, by name.
std::vector<std::string> driver_names();
std::unique_ptr<driver> make_driver(const std::string& name);

// The drivers' factories (drivers/*.cpp). The peers' exist only when CMake found their
// client library: FERRY_BENCH_HAVE_RABBITMQ, FERRY_BENCH_HAVE_NATS, FERRY_BENCH_HAVE_REDIS.
std::unique_ptr<driver> make_ferry_driver();
std::unique_ptr<driver> make_rabbitmq_driver();       // drivers/rabbitmq_driver.cpp
std::unique_ptr<driver> make_nats_driver();           // drivers/nats_driver.cpp (core)
std::unique_ptr<driver> make_jetstream_driver();      // drivers/nats_driver.cpp
std::unique_ptr<driver> make_redis_pubsub_driver();   // drivers/redis_driver.cpp
std::unique_ptr<driver> make_redis_streams_driver();  // drivers/redis_driver.cpp

}  // namespace ferry::bench
