// subscriber: consumers' lives across connections and the delivery path. Settles are in
// settle.cpp.
#include "client/src/subscriber.h"

#include <algorithm>

#include "ferry/v1/consume.pb.h"

namespace ferry::client::detail {

void subscriber::subscribe(std::shared_ptr<consumer_state> s, handler<consumer> h) {
  if (c_.closed()) {
    complete_later(s->ex, std::move(h), make_error(errc::disconnected, "client closed"),
                   consumer{});
    return;
  }
  send_subscribe(s, std::move(h));
}

// `h` is empty for a resubscribe after a reconnect.
void subscriber::send_subscribe(const std::shared_ptr<consumer_state>& s, handler<consumer> h) {
  auto req = std::make_shared<v1::Subscribe>();
  req->set_subscription(s->opts.subscription);
  req->set_pattern(s->opts.pattern);
  req->set_prefetch(s->opts.prefetch);
  req->set_auto_ack(s->opts.auto_ack);
  req->set_create_if_missing(s->opts.create_if_missing);
  *req->mutable_options() = s->opts.options;
  auto ok = std::make_shared<v1::SubscribeOk>();
  c_.send_request(codec::body::subscribe, req, codec::body::subscribe_ok, ok,
                  [this, alive = lifetime_.watch(), s, ok, h = std::move(h)](error e) mutable {
                    if (!alive.expired()) on_subscribed(s, e, *ok, std::move(h));
                  });
}

void subscriber::on_subscribed(const std::shared_ptr<consumer_state>& s, const error& e,
                               const v1::SubscribeOk& ok, handler<consumer> h) {
  if (e) {
    if (h) {
      complete(s->ex, std::move(h), e, consumer{});
    } else if (e.code != errc::disconnected && e.code != errc::timeout) {
      // The broker refused to re-create it (e.g. the subscription was deleted meanwhile).
      forget(s);
      mark_closed(s, e);
    }
    return;
  }
  if (s->closed) {  // closed while its resubscribe was under way
    send_unsubscribe(ok.consumer_id(), {});
    return;
  }
  table_.bind(s, ok.consumer_id(), c_.epoch());
  s->subscription = ok.subscription();
  if (h) {
    if (!s->internal) table_.keep(s);
    complete(s->ex, std::move(h), error{}, consumer(s));
  }
}

void subscriber::send_unsubscribe(uint64_t consumer_id, void_handler h) {
  auto req = std::make_shared<v1::Unsubscribe>();
  req->set_consumer_id(consumer_id);
  if (!h) assign(h, void_handler([](error) {}));
  c_.send_request(codec::body::unsubscribe, req, codec::body::unsubscribe_ok,
                  std::make_shared<v1::UnsubscribeOk>(), std::move(h));
}

// Calls the consumer's handler for each delivery, in order, then returns auto_ack credit
// for the deliveries handled. The handler may close the consumer or the client.
void subscriber::on_deliver(const std::shared_ptr<const std::vector<uint8_t>>& frame,
                            uint64_t consumer_id, const std::vector<codec::delivery_view>& views) {
  std::shared_ptr<consumer_state> s = table_.find(consumer_id);
  if (!s) return;  // the broker requeues them when the Unsubscribe or the close reaches it
  const uint64_t epoch = c_.epoch();
  uint32_t handled = 0;
  for (const auto& v : views) {
    if (s->closed || s->epoch != c_.epoch()) break;
    codec::message_fields fields;
    // The broker checked the message when it was published (scan_message).
    if (codec::parse_message(v.message, fields, nullptr) != errc::ok) fields = {};
    if (s->on_delivery) s->on_delivery(delivery(frame, consumer_id, v, fields, epoch));
    ++handled;
  }
  if (s->opts.auto_ack && !s->manual_credit) send_credit(c_, *s, epoch, handled);
}

void subscriber::grant_credit(const std::shared_ptr<consumer_state>& s, uint64_t epoch,
                              uint32_t n) {
  send_credit(c_, *s, epoch, n);
}

void subscriber::close(const std::shared_ptr<consumer_state>& s, void_handler h) {
  if (s->closed) {
    complete_later(s->ex, std::move(h), error{});
    return;
  }
  bool live = c_.connected() && s->broker_id != 0 && s->epoch == c_.epoch();
  if (live) flush_consumer(s);  // its settles go out before the Unsubscribe
  uint64_t cid = s->broker_id;
  forget(s);
  mark_closed(s, error{});
  if (live)
    send_unsubscribe(cid, std::move(h));
  else
    complete_later(s->ex, std::move(h), error{});
}

bool subscriber::on_cancelled(uint64_t consumer_id, const error& e) {
  auto s = table_.find(consumer_id);
  if (!s) return false;
  forget(s);
  mark_closed(s, e);
  return true;
}

void subscriber::on_connected() {
  table_.reattach([this](const std::shared_ptr<consumer_state>& s) { send_subscribe(s, {}); });
}

void subscriber::on_disconnected() {
  auto e = make_error(errc::disconnected, "connection to the broker lost");
  table_.detach_all();
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (auto& s : dirty) {
    s->dirty = false;
    fail_batches(*s, e);
  }
}

void subscriber::fail_all(const error& e) {
  std::vector<std::shared_ptr<consumer_state>> all = table_.take_all();
  for (auto& s : dirty_)
    all.push_back(s);
  dirty_.clear();
  for (auto& s : all)
    mark_closed(s, e);
}

void subscriber::mark_closed(const std::shared_ptr<consumer_state>& s, const error& e) {
  if (s->closed) return;
  s->closed = true;
  fail_batches(*s, e ? e : make_error(errc::unknown_consumer, "consumer closed"));
  if (s->on_closed) {
    auto fn = std::move(s->on_closed);
    s->on_closed = nullptr;
    fn(e);
  }
}

void subscriber::forget(const std::shared_ptr<consumer_state>& s) {
  table_.forget(s);
}

}  // namespace ferry::client::detail
