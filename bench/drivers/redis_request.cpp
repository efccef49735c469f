#include "bench/drivers/redis_request.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench/drivers/first_failure.h"
#include "bench/drivers/redis_link.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
namespace rds = ferry::bench::redis;

struct rpc_run {
  rpc_run(const endpoint& at_, measurement& m_) : at(at_), m(m_) {}
  const endpoint& at;
  measurement& m;
  const std::string channel = "bench-rr-" + std::to_string(::getpid());
  std::atomic<bool> stop{false}, responder_ready{false};
  std::mutex reader_mu;  // measurement reader 0: one thread at a time
  first_failure failure;

  void fail(const std::string& why) {
    failure.set("redis: " + why);
    stop = true;
  }

  // A pub/sub "message" push: its data; empty when `r` is something else.
  static std::string_view message_data(const redisReply* r) {
    if (r == nullptr || r->type != REDIS_REPLY_ARRAY || r->elements != 3) return {};
    if (rds::text_of(r->element[0]) != "message") return {};
    return rds::text_of(r->element[2]);
  }

  void respond() {
    rds::redis_link sub, pub;
    for (auto* l : {&sub, &pub})
      if (auto e = l->open(at.host, at.port, 5s); !e.empty()) return fail("responder " + e);
    if (auto e = sub.command({"SUBSCRIBE", channel}); !e.empty()) return fail("SUBSCRIBE: " + e);
    responder_ready = true;
    while (!stop) {
      rds::reply_ptr r;
      if (auto e = sub.next_reply(r, 50ms); !e.empty()) return fail("responder: " + e);
      auto data = message_data(r.get());
      auto bar = data.find('|');
      if (bar == std::string_view::npos) continue;
      rds::args a{"PUBLISH", data.substr(0, bar), data.substr(bar + 1)};
      if (auto e = pub.append(a); !e.empty()) return fail("PUBLISH: " + e);
      if (auto e = pub.flush(); !e.empty()) return fail("PUBLISH: " + e);
      // The PUBLISH replies (receiver counts) are read as they come, never waited for.
      for (rds::reply_ptr done;;) {
        if (auto e = pub.next_reply(done, 0us); !e.empty()) return fail("PUBLISH: " + e);
        if (!done) break;
      }
    }
  }

  void request(uint32_t index) {
    rds::redis_link sub, pub;
    for (auto* l : {&sub, &pub})
      if (auto e = l->open(at.host, at.port, 5s); !e.empty()) return fail("requester " + e);
    const std::string reply_channel = channel + "-reply-" + std::to_string(index);
    if (auto e = sub.command({"SUBSCRIBE", reply_channel}); !e.empty())
      return fail("SUBSCRIBE: " + e);
    std::string request = reply_channel + "|";
    const size_t prefix = request.size();
    std::string payload;
    while (!responder_ready && !stop)
      std::this_thread::sleep_for(1ms);
    for (auto now = steady::now(); !m.past_end(now) && !stop; now = steady::now()) {
      m.stamp(payload, m.next_sequence(), now);
      request.resize(prefix);
      request.append(payload);
      rds::reply_ptr ok, r;
      if (auto e = pub.command({"PUBLISH", channel, request}, &ok); !e.empty())
        return fail("PUBLISH: " + e);
      if (auto e = sub.wait_reply(r); !e.empty()) return fail("no reply: " + e);
      auto data = message_data(r.get());
      if (data.empty()) return fail("unexpected reply on the reply channel");
      std::lock_guard lock(reader_mu);
      m.on_message(0, data);
    }
  }
};

}  // namespace

ferry::error run_redis_requests(const workload& w, const endpoint& at, measurement& m) {
  rpc_run run(at, m);
  std::thread responder([&run] { run.respond(); });
  auto deadline = steady::now() + 10s;
  while (!run.responder_ready && !run.stop && steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  if (!run.responder_ready) run.fail("the responder did not subscribe in time");
  // The clock starts before the requesters connect: their first round trips fall in the
  // warm-up.
  m.start(steady::now());
  std::vector<std::thread> requesters;
  for (uint32_t i = 0; i < w.producers_per_topic && !run.stop; ++i)
    requesters.emplace_back([&run, i] { run.request(i); });
  for (auto& t : requesters)
    t.join();
  run.stop = true;
  responder.join();
  if (run.failure.any()) return {make_error_code(errc::internal), run.failure.text()};
  return {};
}

}  // namespace ferry::bench
