// requester: request/reply for a client.
//
// Once per connection, on the first request, it creates a temporary memory topic
// "_inbox.<16 hex>" (deleted by the broker with the connection) and an ephemeral auto_ack
// consumer on it. A request is published with reply_to = the inbox and a unique
// correlation id; the first inbox delivery with that correlation id completes it.
// Outcomes: the reply; no_responders when the publish reached no subscription; timeout;
// disconnected when the connection (and with it the inbox) is lost.
//
// Executor: the client's. Owned by client_impl, which outlives it; it reaches the
// connection only through its link, and the publisher and subscriber directly.
#pragma once

#include <chrono>
#include <unordered_map>

#include <boost/asio/steady_timer.hpp>

#include "client/src/link.h"
#include "ferry/client/client.h"
#include "support/lifetime.h"

namespace ferry::client::detail {

class publisher;
class subscriber;
struct consumer_state;

class requester {
 public:
  // It publishes through `pub` and subscribes its inbox through `subs`; `new_state` makes
  // the inbox consumer's state (tied to the client, as every consumer's is).
  requester(link& c, publisher& pub, subscriber& subs,
            std::function<std::shared_ptr<consumer_state>()> new_state)
      : c_(c), pub_(pub), subs_(subs), new_state_(std::move(new_state)) {}

  void request(std::string topic, message m, std::chrono::milliseconds timeout, handler<reply> h);
  void on_disconnected();
  void fail_all(const error& e);

 private:
  struct waiter {
    explicit waiter(boost::asio::any_io_executor ex) : timer(std::move(ex)) {}
    std::string correlation_id;
    std::string topic;
    message msg;
    handler<reply> h;
    boost::asio::steady_timer timer;
    bool done = false;
  };
  enum class inbox_state { none, creating, ready };

  void ensure_inbox();
  void on_inbox_topic(uint64_t generation, const error& e);
  void on_inbox_consumer(uint64_t generation, const error& e, consumer cons);
  void send(const std::shared_ptr<waiter>& w);
  void on_published(const std::string& correlation_id, const error& e, const publish_result& r);
  void on_reply(const delivery& d);
  void finish(const std::shared_ptr<waiter>& w, const error& e, reply r);
  void fail_waiting(const error& e);

  link& c_;
  publisher& pub_;
  subscriber& subs_;
  std::function<std::shared_ptr<consumer_state>()> new_state_;
  std::unordered_map<std::string, std::shared_ptr<waiter>> waiting_;  // by correlation id
  std::vector<std::shared_ptr<waiter>> need_inbox_;
  inbox_state inbox_state_ = inbox_state::none;
  std::string inbox_;
  uint64_t generation_ = 0;  // bumped when an inbox is lost; stale answers are ignored
  uint64_t last_request_ = 0;
  consumer inbox_consumer_;
  lifetime_token lifetime_;  // last: callbacks posted for later check it
};

}  // namespace ferry::client::detail
