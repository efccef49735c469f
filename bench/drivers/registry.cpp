// The drivers compiled into ferry-bench, by name. Peer drivers exist only when CMake found
// their client library (bench/CMakeLists.txt defines FERRY_BENCH_HAVE_*).
#include <functional>
#include <utility>

#include "bench/driver.h"

namespace ferry::bench {
namespace {

using factory = std::unique_ptr<driver> (*)();

const std::vector<std::pair<std::string, factory>>& factories() {
  static const std::vector<std::pair<std::string, factory>> all = {
      {"ferry", &make_ferry_driver},
#ifdef FERRY_BENCH_HAVE_RABBITMQ
      {"rabbitmq", &make_rabbitmq_driver},
#endif
#ifdef FERRY_BENCH_HAVE_NATS
      {"nats", &make_nats_driver},
      {"jetstream", &make_jetstream_driver},
#endif
#ifdef FERRY_BENCH_HAVE_REDIS
      {"redis-pubsub", &make_redis_pubsub_driver},
      {"redis-streams", &make_redis_streams_driver},
#endif
  };
  return all;
}

}  // namespace

std::vector<std::string> driver_names() {
  std::vector<std::string> names;
  for (const auto& [name, make] : factories())
    names.push_back(name);
  return names;
}

std::unique_ptr<driver> make_driver(const std::string& name) {
  for (const auto& [n, make] : factories())
    if (n == name) return make();
  return nullptr;
}

}  // namespace ferry::bench
