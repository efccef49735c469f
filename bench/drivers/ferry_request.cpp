#include "bench/drivers/ferry_request.h"

#include <atomic>
#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/post.hpp>

#include "bench/drivers/ferry_loop.h"
#include "bench/drivers/first_failure.h"

namespace ferry::bench {

namespace {

namespace asio = boost::asio;
namespace fc = ferry::client;
using steady_clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

class requests {
 public:
  requests(const workload& w, const endpoint& at, measurement& m) : w_(w), at_(at), m_(m) {
    topic_ = "requests-" + make_run_id();
  }

  ferry::error run() {
    if (auto e = start_responders()) return e;
    for (uint32_t i = 0; i < w_.producers_per_topic; ++i) {
      auto& c = requesters_.add_client(at_);
      if (auto e = requesters_.call([&] { return c.async_connect(asio::use_future); },
                                    "connect requester"))
        return e;
    }
    m_.start(steady_clock::now());
    asio::post(requesters_.io, [this] {
      for (auto& c : requesters_.clients)
        send(*c);
    });
    auto deadline =
        steady_clock::now() + std::chrono::duration<double>(w_.warmup_s + w_.duration_s) + 30s;
    while (finished_.load() < w_.producers_per_topic && steady_clock::now() < deadline)
      std::this_thread::sleep_for(1ms);
    if (finished_.load() < w_.producers_per_topic)
      return ferry_run_error("the requesters did not finish in time");
    if (failure_.any()) return ferry_run_error(failure_.text());
    return {};
  }

 private:
  // Each responder subscribes to the request topic (several: one shared subscription they
  // compete on; one: an ephemeral subscription), auto-ack, and answers on reply_to.
  ferry::error start_responders() {
    const bool shared = w_.consumers_per_subscription > 1;
    for (uint32_t i = 0; i < w_.consumers_per_subscription; ++i) {
      auto& l = *responders_.emplace_back(std::make_unique<client_loop>());
      auto& c = l.add_client(at_);
      if (auto e = l.call([&] { return c.async_connect(asio::use_future); }, "connect responder"))
        return e;
      if (i == 0) {
        v1::CreateTopic req;
        req.set_name(topic_);
        req.set_if_not_exists(true);
        if (auto e =
                l.call([&] { return c.async_create_topic(req, asio::use_future); }, "create topic"))
          return e;
      }
      fc::subscribe_options o;
      o.pattern = topic_;
      o.subscription = shared ? topic_ + "-responders" : "";
      o.create_if_missing = shared;
      o.auto_ack = true;
      o.prefetch = w_.prefetch;
      fc::consumer cons;
      auto subscribe = [&] {
        return c.async_subscribe(
            o, [this, &c](const fc::delivery& d) { answer(c, d); }, asio::use_future);
      };
      if (auto e = l.call(subscribe, "subscribe responder", &cons)) return e;
      l.consumers.push_back(std::move(cons));
    }
    return {};
  }

  void answer(fc::client& c, const fc::delivery& d) {
    const auto& f = d.fields();
    fc::message reply;
    reply.payload.assign(f.payload);
    reply.correlation_id.assign(f.correlation_id);
    c.async_publish(std::string(f.reply_to), std::move(reply),
                    [this](ferry::error e, fc::publish_result) {
                      if (e) fail("reply: " + e.to_string());
                    });
  }

  // One request of requester `c`; the next when its reply came (closed loop), until past
  // the measured window.
  void send(fc::client& c) {
    auto now = steady_clock::now();
    if (m_.past_end(now)) {
      ++finished_;
      return;
    }
    fc::message msg;
    msg.payload = m_.make_payload(m_.next_sequence(), now);
    c.async_request(topic_, std::move(msg), 5s, [this, &c](ferry::error e, fc::reply r) {
      if (e) {
        m_.publish_failed(1);
        fail("request: " + e.to_string());
      } else {
        m_.on_message(0, r.payload);  // one loop: reader 0 is used from one thread
      }
      send(c);
    });
  }

  void fail(const std::string& why) { failure_.set(why); }

  const workload& w_;
  const endpoint& at_;
  measurement& m_;
  std::string topic_;
  std::atomic<uint32_t> finished_{0};
  first_failure failure_;  // requesters' and responders' threads
  // Declared after what their handlers use, so they stop first.
  std::vector<std::unique_ptr<client_loop>> responders_;
  client_loop requesters_;
};

}  // namespace

ferry::error run_ferry_requests(const workload& w, const endpoint& at, measurement& m) {
  requests r(w, at, m);
  return r.run();
}

}  // namespace ferry::bench
