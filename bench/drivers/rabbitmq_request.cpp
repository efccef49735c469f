#include "bench/drivers/rabbitmq_request.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include "bench/drivers/first_failure.h"
#include "bench/drivers/rabbitmq_amqp.h"

namespace ferry::bench {
namespace {

using namespace std::chrono_literals;
namespace rmq = ferry::bench::rabbitmq;

constexpr const char* reply_to = "amq.rabbitmq.reply-to";

struct rpc_run {
  rpc_run(const workload& w_, const endpoint& at_, measurement& m_) : w(w_), at(at_), m(m_) {}
  const workload& w;
  const endpoint& at;
  measurement& m;
  std::string queue = "bench-rr-" + std::to_string(::getpid());
  std::atomic<bool> stop{false};
  std::atomic<uint32_t> responders_ready{0};
  std::mutex reader_mu;  // measurement reader 0: one thread at a time
  first_failure failure;

  void fail(const std::string& why) {
    failure.set("rabbitmq: " + why);
    stop = true;
  }

  // Waits for the next delivery up to `wait`; false on a timeout or once failed.
  bool next(rmq::amqp_link& link, amqp_envelope_t& env, std::chrono::milliseconds wait) {
    amqp_maybe_release_buffers(link.get());
    timeval tv = rmq::to_timeval(wait);
    auto r = amqp_consume_message(link.get(), &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_NORMAL) return true;
    if (r.reply_type != AMQP_RESPONSE_LIBRARY_EXCEPTION || r.library_error != AMQP_STATUS_TIMEOUT)
      fail("consume: " + rmq::reply_error(r));
    return false;
  }

  void respond(uint32_t index) {
    rmq::amqp_link link;
    if (auto e = link.open(at.host, at.port, 30s); !e.empty()) return fail("responder: " + e);
    auto* c = link.get();
    if (index == 0) {  // the request queue, gone with its last consumer (auto-delete)
      amqp_queue_declare(c, link.channel, rmq::bytes(queue), 0, 0, 0, 1, amqp_empty_table);
      if (auto e = link.check("queue.declare"); !e.empty()) return fail(e);
    } else {
      while (responders_ready.load() == 0 && !stop)
        std::this_thread::sleep_for(1ms);
    }
    amqp_basic_consume(c, link.channel, rmq::bytes(queue), amqp_empty_bytes, 0, 1, 0,
                       amqp_empty_table);
    if (auto e = link.check("basic.consume"); !e.empty()) return fail(e);
    ++responders_ready;
    while (!stop) {
      amqp_envelope_t env;
      if (!next(link, env, 50ms)) continue;
      amqp_basic_properties_t props{};
      if (env.message.properties._flags & AMQP_BASIC_CORRELATION_ID_FLAG) {
        props._flags = AMQP_BASIC_CORRELATION_ID_FLAG;
        props.correlation_id = env.message.properties.correlation_id;
      }
      int rc = amqp_basic_publish(c, link.channel, amqp_empty_bytes,
                                  env.message.properties.reply_to, 0, 0, &props, env.message.body);
      amqp_destroy_envelope(&env);
      if (rc != AMQP_STATUS_OK) return fail(std::string("reply: ") + amqp_error_string2(rc));
    }
  }

  void request(rmq::amqp_link& link) {
    auto* c = link.get();
    amqp_basic_properties_t props{};
    props._flags = AMQP_BASIC_REPLY_TO_FLAG;
    props.reply_to = amqp_cstring_bytes(reply_to);
    for (auto now = steady::now(); !m.past_end(now) && !stop; now = steady::now()) {
      auto payload = m.make_payload(m.next_sequence(), now);
      int rc = amqp_basic_publish(c, link.channel, amqp_empty_bytes, rmq::bytes(queue), 0, 0,
                                  &props, rmq::bytes(payload));
      if (rc != AMQP_STATUS_OK) return fail(std::string("request: ") + amqp_error_string2(rc));
      amqp_envelope_t env;
      if (!next(link, env, 5000ms)) {
        m.publish_failed(1);
        return fail("no reply in 5 s");
      }
      {
        std::lock_guard lock(reader_mu);
        m.on_message(0, std::string_view(static_cast<const char*>(env.message.body.bytes),
                                         env.message.body.len));
      }
      amqp_destroy_envelope(&env);
    }
  }
};

}  // namespace

ferry::error run_rabbitmq_requests(const workload& w, const endpoint& at, measurement& m) {
  rpc_run run{w, at, m};
  std::vector<std::thread> responders;
  for (uint32_t i = 0; i < w.consumers_per_subscription; ++i)
    responders.emplace_back([&run, i] { run.respond(i); });
  // Requesters connect and consume their reply-to before the clock starts.
  std::vector<std::unique_ptr<rmq::amqp_link>> links;
  for (uint32_t i = 0; i < w.producers_per_topic && !run.stop; ++i) {
    auto& link = *links.emplace_back(std::make_unique<rmq::amqp_link>());
    if (auto e = link.open(at.host, at.port, std::chrono::seconds(30)); !e.empty()) {
      run.fail("requester: " + e);
      break;
    }
    amqp_basic_consume(link.get(), link.channel, amqp_cstring_bytes(reply_to), amqp_empty_bytes, 0,
                       1, 0, amqp_empty_table);
    if (auto e = link.check("basic.consume reply-to"); !e.empty()) run.fail(e);
  }
  auto deadline = steady::now() + 30s;
  while (run.responders_ready.load() < w.consumers_per_subscription && !run.stop &&
         steady::now() < deadline)
    std::this_thread::sleep_for(1ms);
  if (run.responders_ready.load() < w.consumers_per_subscription) run.fail("responders not ready");
  if (!run.stop) {
    m.start(steady::now());
    std::vector<std::thread> requesters;
    for (auto& l : links)
      requesters.emplace_back([&run, link = l.get()] { run.request(*link); });
    for (auto& t : requesters)
      t.join();
  }
  run.stop = true;
  for (auto& t : responders)
    t.join();
  if (run.failure.any()) return {make_error_code(errc::internal), run.failure.text()};
  return {};
}

}  // namespace ferry::bench
