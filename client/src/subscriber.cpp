// subscriber: consumers' lives across connections and the delivery path. Settles are in
// settle.cpp.
#include "client/src/subscriber.h"

#include <algorithm>

#include "ferry/v1/consume.pb.h"

#include "client/src/client_impl.h"

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
                  [w = c_.weak_from_this(), s, ok, h = std::move(h)](error e) mutable {
                    if (auto c = w.lock()) c->subs().on_subscribed(s, e, *ok, std::move(h));
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
  s->broker_id = ok.consumer_id();
  s->epoch = c_.epoch();
  s->subscription = ok.subscription();
  by_id_[s->broker_id] = s;
  if (h) {
    if (!s->internal) consumers_.push_back(s);
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
void subscriber::on_deliver(std::shared_ptr<const std::vector<uint8_t>> frame) {
  std::vector<codec::delivery_view> views = std::move(scratch_);  // reentrancy-safe
  uint64_t cid = 0;
  if (codec::parse_deliver(wire::as_view(*frame), cid, views) != errc::ok) {
    c_.drop_connection(make_error(errc::malformed_frame, "malformed Deliver from the broker"));
    scratch_ = std::move(views);
    return;
  }
  auto it = by_id_.find(cid);
  if (it == by_id_.end()) {
    c_.logs().on_deliver(frame, cid, views);
  } else {
    std::shared_ptr<consumer_state> s = it->second;
    uint64_t epoch = c_.epoch();
    uint32_t handled = 0;
    for (const auto& v : views) {
      if (s->closed || s->epoch != c_.epoch()) break;
      codec::message_fields fields;
      // The broker checked the message when it was published (scan_message).
      if (codec::parse_message(v.message, fields, nullptr) != errc::ok) fields = {};
      if (s->on_delivery) s->on_delivery(delivery(frame, cid, v, fields, epoch));
      ++handled;
    }
    if (handled > 0 && s->opts.auto_ack && !s->manual_credit && !s->closed &&
        s->epoch == c_.epoch()) {
      v1::Credit credit;
      credit.set_consumer_id(cid);
      credit.set_credit(handled);
      c_.send_push(0, codec::body::credit, credit);
    }
  }
  // Deliveries for a consumer we no longer know are dropped: the broker requeues them
  // when the Unsubscribe or the connection's end reaches it.
  views.clear();
  scratch_ = std::move(views);
}

void subscriber::grant_credit(const std::shared_ptr<consumer_state>& s, uint64_t epoch,
                              uint32_t n) {
  if (s->closed || s->broker_id == 0 || s->epoch != epoch || epoch != c_.epoch()) return;
  v1::Credit credit;
  credit.set_consumer_id(s->broker_id);
  credit.set_credit(n);
  c_.send_push(0, codec::body::credit, credit);
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
  auto it = by_id_.find(consumer_id);
  if (it == by_id_.end()) return false;
  auto s = it->second;
  forget(s);
  mark_closed(s, e);
  return true;
}

void subscriber::on_connected() {
  auto list = consumers_;
  for (auto& s : list) {
    if (s->closed) continue;
    s->broker_id = 0;
    send_subscribe(s, {});
  }
}

void subscriber::on_disconnected() {
  auto e = make_error(errc::disconnected, "connection to the broker lost");
  by_id_.clear();
  for (auto& s : consumers_)
    s->broker_id = 0;
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (auto& s : dirty) {
    s->dirty = false;
    fail_batches(*s, e);
  }
}

void subscriber::fail_all(const error& e) {
  std::vector<std::shared_ptr<consumer_state>> all = consumers_;
  for (auto& [id, s] : by_id_)
    all.push_back(s);
  for (auto& s : dirty_)
    all.push_back(s);
  consumers_.clear();
  by_id_.clear();
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
  consumers_.erase(std::remove(consumers_.begin(), consumers_.end(), s), consumers_.end());
  auto it = by_id_.find(s->broker_id);
  if (it != by_id_.end() && it->second == s) by_id_.erase(it);
}

}  // namespace ferry::client::detail
