// push_endpoint: the broker as the consumer of one push subscription. It attaches to the
// subscription like a client does (a consumer_table of its own, credit = the endpoint's
// max_in_flight, so never more requests at once), and is that consumer's sink: each
// delivery is POSTed as a CloudEvent (push_client). A 2xx answer acks it; a failure holds
// it for the backoff (Retry-After for 429 and 503), then requeues it, and the
// subscription delivers it again with its count raised; after max_deliveries it is
// dead-lettered with the last failure as the reason's detail. Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "ferry/v1/admin.pb.h"

#include "broker/push/push_client.h"
#include "broker/queues/subscription.h"
#include "broker/services/consumer_table.h"
#include "broker/services/push_definition.h"
#include "broker/topics/consumer.h"

namespace ferry::broker {

class consume_service;

class push_endpoint final : public delivery_sink,
                            public std::enable_shared_from_this<push_endpoint> {
 public:
  struct environment {
    consume_service& consuming;
    boost::asio::io_context& ioc;
    // The client context for https endpoints (null: none could be made; they do not start).
    boost::asio::ssl::context* tls;
    // Runs `fn` as an event of the loop: the clock stamped first, the flush point after.
    std::function<void(std::function<void()> fn)> as_event;
  };

  push_endpoint(environment& env, std::string subscription, push_settings settings);
  ~push_endpoint();

  // Attaches to the subscription; stop() detaches (deliveries in flight are requeued).
  void start();
  void stop();
  const v1::PushStats& stats() const { return stats_; }

  // delivery_sink
  void deliver(consumer& c, const message_ref& m, const delivery_meta& meta) override;
  void consumer_cancelled(consumer& c, errc code, std::string_view why) override;
  void assignment_changed(consumer&, const v1::Assignment&) override {}
  void consumer_closing(consumer&, bool) override {}

 private:
  struct attempt {
    uint64_t consumer_id;
    uint64_t delivery_id;
    uint32_t delivery_count;
  };
  push_client::request build(const message_ref& m, const delivery_meta& meta) const;
  void answered(const attempt& a, push_client::result r);
  void retry_later(const attempt& a, int64_t delay_ms);
  // Settles one delivery; refusals (a lease that ended meanwhile) are ignored.
  void settle(const attempt& a, const subscription::settle_request& r);
  int64_t backoff_ms(uint32_t delivery_count) const;

  environment& env_;
  std::string subscription_;
  push_settings settings_;
  push_client client_;
  int64_t activity_ = 0;
  bool output_closed_ = false;
  consumer_table table_;
  bool stopped_ = false;
  v1::PushStats stats_;
};

}  // namespace ferry::broker
