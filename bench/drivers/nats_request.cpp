#include "bench/drivers/nats_request.h"

#include <atomic>
#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench/drivers/first_failure.h"
#include "bench/drivers/nats_client.h"
#include "bench/drivers/nats_common.h"

namespace ferry::bench {
namespace {

namespace nc = ferry::bench::nats;

// A responder's subscription handler: the request's payload back to its reply subject.
void answer(natsConnection* conn, natsSubscription*, natsMsg* msg, void* failures) {
  const char* reply = natsMsg_GetReply(msg);
  if (reply == nullptr || natsConnection_Publish(conn, reply, natsMsg_GetData(msg),
                                                 natsMsg_GetDataLength(msg)) != NATS_OK)
    ++*static_cast<std::atomic<uint64_t>*>(failures);
  natsMsg_Destroy(msg);
}

}  // namespace

ferry::error run_nats_requests(const workload& w, const endpoint& at, measurement& m) {
  const std::string subject = "bench.rr." + std::to_string(::getpid());
  std::atomic<uint64_t> reply_failures{0};
  std::vector<nc::conn_ptr> responder_conns(w.consumers_per_subscription);
  std::vector<nc::sub_ptr> subs;
  for (auto& conn : responder_conns) {
    if (auto e = nc::connect(at.host, at.port, "ferry-bench-responder", true, conn)) return e;
    natsSubscription* s = nullptr;
    natsStatus st =
        w.consumers_per_subscription > 1
            ? natsConnection_QueueSubscribe(&s, conn.get(), subject.c_str(), "responders", answer,
                                            &reply_failures)
            : natsConnection_Subscribe(&s, conn.get(), subject.c_str(), answer, &reply_failures);
    if (st != NATS_OK) return nc::fail("subscribe", st);
    subs.emplace_back(s);
    if (auto f = natsConnection_FlushTimeout(conn.get(), 5000); f != NATS_OK)
      return nc::fail("flush", f);
  }
  std::vector<nc::conn_ptr> requester_conns(w.producers_per_topic);
  for (auto& conn : requester_conns)
    if (auto e = nc::connect(at.host, at.port, "ferry-bench-requester", true, conn)) return e;

  std::mutex reader_mu;  // measurement reader 0: one thread at a time
  first_failure failure;
  m.start(steady::now());
  std::vector<std::thread> threads;
  for (auto& conn : requester_conns)
    threads.emplace_back([&, c = conn.get()] {
      for (auto now = steady::now(); !m.past_end(now); now = steady::now()) {
        auto payload = m.make_payload(m.next_sequence(), now);
        natsMsg* reply = nullptr;
        natsStatus st = natsConnection_Request(&reply, c, subject.c_str(), payload.data(),
                                               static_cast<int>(payload.size()), 5000);
        if (st != NATS_OK) {
          m.publish_failed(1);
          failure.set(nc::fail("request", st).message);
          continue;
        }
        {
          std::lock_guard lock(reader_mu);
          m.on_message(0, std::string_view(natsMsg_GetData(reply),
                                           static_cast<size_t>(natsMsg_GetDataLength(reply))));
        }
        natsMsg_Destroy(reply);
      }
    });
  for (auto& t : threads)
    t.join();
  nc::close_subscriptions(subs);
  if (failure.any()) return {make_error_code(errc::internal), failure.text()};
  if (reply_failures.load() != 0)
    return {make_error_code(errc::internal),
            std::to_string(reply_failures.load()) + " replies could not be published"};
  return {};
}

}  // namespace ferry::bench
