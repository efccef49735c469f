// redis_aof: reading and setting Redis's AOF (append-only file) for a run of the
// redis-streams driver, so that each workload runs with the durability it asks for.
//
// Functions of a redis_link (one thread); errors come back as text, empty = ok.
#pragma once

#include <chrono>
#include <string>
#include <string_view>
#include <thread>

#include "bench/drivers/redis_link.h"
#include "bench/workload.h"

namespace ferry::bench::redis {

struct aof_setting {
  std::string appendonly, appendfsync;
};

inline aof_setting aof_for(const workload& w) {
  if (w.kind == topic_kind::memory) return {"no", ""};
  switch (w.durable) {
    case durability::fsync_always: return {"yes", "always"};
    case durability::fsync_interval: return {"yes", "everysec"};
    case durability::none: break;
  }
  return {"yes", "no"};
}

inline std::string config_get(redis_link& link, const char* name, std::string& value) {
  reply_ptr r;
  if (auto e = link.command({"CONFIG", "GET", name}, &r); !e.empty()) return e;
  if (r->type != REDIS_REPLY_ARRAY || r->elements != 2) return "CONFIG GET: unexpected reply";
  value = text_of(r->element[1]);
  return {};
}

// Waits until no AOF rewrite is scheduled or running: only then is a freshly enabled AOF
// in force (Redis 7 rewrites it first).
inline std::string wait_for_aof(redis_link& link) {
  auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
  for (;;) {
    reply_ptr r;
    if (auto e = link.command({"INFO", "persistence"}, &r); !e.empty()) return e;
    auto info = text_of(r.get());
    if (info.find("aof_rewrite_in_progress:0") != std::string_view::npos &&
        info.find("aof_rewrite_scheduled:0") != std::string_view::npos)
      return {};
    if (std::chrono::steady_clock::now() >= until) return "the AOF rewrite did not finish in time";
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

// Sets the AOF to `want` (appendfsync unchanged when empty), waiting until it is in force.
inline std::string set_aof(redis_link& link, const aof_setting& want) {
  aof_setting now;
  if (auto e = config_get(link, "appendonly", now.appendonly); !e.empty()) return e;
  if (auto e = config_get(link, "appendfsync", now.appendfsync); !e.empty()) return e;
  if (!want.appendfsync.empty() && want.appendfsync != now.appendfsync)
    if (auto e = link.command({"CONFIG", "SET", "appendfsync", want.appendfsync}); !e.empty())
      return e;
  if (want.appendonly != now.appendonly)
    if (auto e = link.command({"CONFIG", "SET", "appendonly", want.appendonly}); !e.empty())
      return e;
  return wait_for_aof(link);
}

}  // namespace ferry::bench::redis
