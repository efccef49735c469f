#include "broker/push/push_endpoint.h"

#include <algorithm>
#include <random>

#include <boost/asio/io_context.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/core/log.h"
#include "broker/queues/subscription.h"
#include "broker/services/consume_service.h"
#include "proto/cloudevents/cloudevent.h"
#include "proto/codec/frame_codec.h"

namespace ferry::broker {

namespace asio = boost::asio;
using kind = subscription::settle_kind;

namespace {

// A failed delivery's lease is extended over its backoff by this much more than the wait.
constexpr int64_t lease_margin_ms = 10'000;

subscription::settle_request request(kind k) {
  subscription::settle_request r;
  r.kind = k;
  return r;
}

}  // namespace

push_endpoint::push_endpoint(environment& env, std::string subscription, push_settings settings)
    : env_(env),
      subscription_(std::move(subscription)),
      settings_(std::move(settings)),
      client_(env.ioc, settings_, env.tls),
      table_(env.consuming.client_context(), *this, &activity_, &output_closed_) {}

push_endpoint::~push_endpoint() {
  stop();
}

void push_endpoint::start() {
  v1::Subscribe req;
  req.set_subscription(subscription_);
  req.set_prefetch(settings_.max_in_flight);
  env_.consuming.subscribe(table_, req, [this](const ferry::error& err, const v1::SubscribeOk&) {
    if (err) {
      log::queues().warn("push {}: not attached: {}", subscription_, err.to_string());
      return;
    }
    log::queues().info("push {}: POSTing to {} ({} at once)", subscription_, settings_.url,
                       settings_.max_in_flight);
  });
}

void push_endpoint::stop() {
  if (stopped_) return;
  stopped_ = true;
  client_.close();
  table_.remove_all();  // what is in flight goes back to the queue
}

// The message as a CloudEvent. One published without the required attributes gets them:
// its id names the message (delivery_name: the same on every redelivery), its source the
// topic, its type "ferry.message".
push_client::request push_endpoint::build(const message_ref& m, const delivery_meta& meta) const {
  codec::message_fields f;
  std::vector<codec::header_view> headers;
  (void)codec::parse_message(m.bytes, f, &headers);  // checked when it was published
  cloudevents::made_attributes made;
  cloudevents::complete_required(
      f, m.topic, [&] { return delivery_name(m.topic, subscription_, meta); }, made);
  push_client::request r;
  if (settings_.structured) {
    r.headers.emplace_back("Content-Type", std::string(cloudevents::structured_media));
    r.body = cloudevents::write_structured(f, headers);
  } else {
    cloudevents::write_binary(f, headers, r.headers);
    r.body = std::string(f.payload);
  }
  r.headers.emplace_back("ferry-delivery-count", std::to_string(meta.delivery_count));
  r.headers.emplace_back("ferry-topic", std::string(m.topic));
  r.headers.emplace_back("ferry-subscription", subscription_);
  return r;
}

void push_endpoint::deliver(consumer& c, const message_ref& m, const delivery_meta& meta) {
  const attempt a{c.id(), meta.delivery_id, meta.delivery_count};
  stats_.set_in_flight(stats_.in_flight() + 1);
  client_.post(build(m, meta), [weak = weak_from_this(), a](push_client::result r) {
    auto self = weak.lock();
    if (!self || self->stopped_) return;
    self->env_.as_event([&] { self->answered(a, std::move(r)); });
  });
}

void push_endpoint::answered(const attempt& a, push_client::result r) {
  stats_.set_in_flight(stats_.in_flight() - 1);
  if (r.status != 0) {
    stats_.set_last_status(r.status);
    stats_.set_answered(stats_.answered() + 1);
    stats_.set_latency_us_total(stats_.latency_us_total() + static_cast<uint64_t>(r.latency_us));
  }
  if (r.status / 100 == 2) {
    stats_.set_succeeded(stats_.succeeded() + 1);
    return settle(a, request(kind::ack));
  }
  stats_.set_failed(stats_.failed() + 1);
  stats_.set_last_error(r.error);
  consumer* c = table_.find(a.consumer_id);
  const uint32_t max = c != nullptr && c->sub() != nullptr ? c->sub()->options().max_deliveries : 0;
  if (max != 0 && a.delivery_count >= max) {
    const std::string detail = "push to " + settings_.url + " failed " +
                               std::to_string(a.delivery_count) + " times; the last: " + r.error;
    auto dead = request(kind::dead_letter);
    dead.reason = detail;
    dead.dead_letter_reason = "max_deliveries";
    return settle(a, dead);
  }
  const bool told = (r.status == 429 || r.status == 503) && r.retry_after_ms >= 0;
  retry_later(a, told ? std::min<int64_t>(r.retry_after_ms, settings_.max_backoff_ms)
                      : backoff_ms(a.delivery_count));
}

// Exponential backoff with jitter: the n-th attempt waits between half and all of
// min_backoff * 2^(n-1), at most max_backoff.
int64_t push_endpoint::backoff_ms(uint32_t delivery_count) const {
  const int shift = static_cast<int>(std::min<uint32_t>(delivery_count, 31)) - 1;
  const int64_t full =
      std::min<int64_t>(static_cast<int64_t>(settings_.min_backoff_ms) << std::max(shift, 0),
                        settings_.max_backoff_ms);
  static thread_local std::minstd_rand jitter{std::random_device{}()};
  return full / 2 + static_cast<int64_t>(jitter() % static_cast<uint64_t>(full / 2 + 1));
}

// The delivery stays with this consumer (its lease extended over the wait), then goes
// back to the queue and comes again with its count raised.
void push_endpoint::retry_later(const attempt& a, int64_t delay_ms) {
  auto extend = request(kind::extend);
  extend.lease_ms = delay_ms + lease_margin_ms;
  settle(a, extend);
  auto timer = std::make_shared<asio::steady_timer>(env_.ioc, std::chrono::milliseconds(delay_ms));
  timer->async_wait([weak = weak_from_this(), timer, a](boost::system::error_code ec) {
    auto self = weak.lock();
    if (ec || !self || self->stopped_) return;
    self->env_.as_event([&] { self->settle(a, request(kind::requeue)); });
  });
}

void push_endpoint::settle(const attempt& a, const subscription::settle_request& r) {
  const uint64_t id = a.delivery_id;
  env_.consuming.settle(table_, a.consumer_id, r, std::span<const uint64_t>(&id, 1),
                        [](const ferry::error&, const v1::SettleOk&) {});
}

void push_endpoint::consumer_cancelled(consumer& c, errc, std::string_view why) {
  log::queues().info("push {}: stopped: {}", subscription_, why);
  table_.forget(c.id());
}

}  // namespace ferry::broker
