// Consuming: Subscribe, Unsubscribe, Credit, and settling deliveries (Ack, Nack, ExtendLease).
#include <algorithm>

#include "ferry/v1/consume.pb.h"

#include "broker/handlers/dispatch.h"
#include "broker/handlers/parse.h"
#include "broker/server/context.h"
#include "broker/session/session.h"
#include "broker/topics/log_topic.h"
#include "proto/codec/wire_errors.h"

namespace ferry::broker::handlers {
namespace {

// Attaches a new consumer of this session to `sub` and answers SubscribeOk. Deliveries
// that attach() produces wait in the consumer's outbox until the flush, so the answer
// goes out first.
void attach(session& s, uint64_t correlation_id, subscription& sub, const v1::Subscribe& req) {
  const auto& cfg = s.ctx().topics().config();
  uint32_t prefetch =
      req.prefetch() == 0 ? cfg.default_prefetch : std::min(req.prefetch(), cfg.max_prefetch);
  consumer& c = s.add_consumer(prefetch, req.auto_ack());
  sub.attach(c);
  v1::SubscribeOk ok;
  ok.set_consumer_id(c.id());
  ok.set_subscription(sub.name());
  ok.set_prefetch(prefetch);
  s.ctx().topics().describe(sub, *ok.mutable_info());
  s.respond(correlation_id, codec::body::subscribe_ok, ok);
}

}  // namespace

void handle_subscribe(session& s, uint64_t correlation_id, std::string_view bytes) {
  v1::Subscribe req;
  if (!parse(s, correlation_id, bytes, req)) return;
  auto& reg = s.ctx().topics();
  reg.begin_event();
  if (req.subscription().empty()) {
    if (req.pattern().empty()) {
      s.respond_error(correlation_id, errc::invalid_argument,
                      "Subscribe needs a subscription name or, for an ephemeral one, a pattern");
      return;
    }
    subscription* sub = nullptr;
    if (auto err = reg.create_ephemeral(req.pattern(), req.options(), sub)) {
      s.respond_error(correlation_id, err);
      return;
    }
    attach(s, correlation_id, *sub, req);
    return;
  }
  if (subscription* sub = reg.find_subscription(req.subscription());
      sub != nullptr && !sub->ephemeral()) {
    if (!req.pattern().empty() && req.pattern() != sub->pattern()) {
      s.respond_error(correlation_id, errc::subscription_exists,
                      "subscription '" + sub->name() + "' has pattern '" + sub->pattern() +
                          "', not '" + req.pattern() + "'");
      return;
    }
    attach(s, correlation_id, *sub, req);
    return;
  }
  if (!req.create_if_missing()) {
    s.respond_error(correlation_id, errc::subscription_not_found,
                    "subscription '" + req.subscription() + "' does not exist");
    return;
  }
  v1::CreateSubscription create;
  create.set_name(req.subscription());
  create.set_pattern(req.pattern());
  *create.mutable_options() = req.options();
  v1::SubscriptionInfo info;
  meta_changes changes;
  if (auto err = reg.create_subscription(create, info, changes)) {
    s.respond_error(correlation_id, err);
    return;
  }
  // Durable before the consumer sees a message of it.
  s.ctx().persist(std::move(changes),
                  [w = s.weak_from_this(), correlation_id, req](ferry::error err) {
                    auto sp = w.lock();
                    if (!sp) return;
                    if (err) {
                      sp->respond_error(correlation_id, err);
                      return;
                    }
                    if (auto* sub = sp->ctx().topics().find_subscription(req.subscription()))
                      attach(*sp, correlation_id, *sub, req);
                    else
                      sp->respond_error(correlation_id, errc::subscription_not_found,
                                        "subscription was deleted meanwhile");
                  });
}

void handle_unsubscribe(session& s, uint64_t correlation_id, std::string_view bytes) {
  v1::Unsubscribe req;
  if (!parse(s, correlation_id, bytes, req)) return;
  s.ctx().topics().begin_event();
  if (s.find_consumer(req.consumer_id()) == nullptr) {
    s.respond_error(
        correlation_id, errc::unknown_consumer,
        "consumer " + std::to_string(req.consumer_id()) + " is not open on this connection");
    return;
  }
  s.remove_consumer(req.consumer_id(), /*write_pending=*/true);
  s.respond(correlation_id, codec::body::unsubscribe_ok, v1::UnsubscribeOk());
}

void handle_credit(session& s, std::string_view bytes) {
  v1::Credit req;
  if (!parse(s, 0, bytes, req)) return;
  consumer* c = s.find_consumer(req.consumer_id());
  if (c != nullptr && c->reader() != nullptr) {  // a log-topic reader
    s.ctx().topics().begin_event();
    if (req.prefetch() != 0)
      c->set_prefetch(std::min(req.prefetch(), s.ctx().topics().config().log.max_credit));
    c->reader()->topic().credit(*c, req.credit());
    return;
  }
  // Credit for a consumer the broker just cancelled is a benign race: ignored.
  if (c == nullptr || c->sub() == nullptr) return;
  s.ctx().topics().begin_event();
  if (req.prefetch() != 0)
    c->sub()->set_prefetch(*c, std::min(req.prefetch(), s.ctx().topics().config().max_prefetch));
  if (req.credit() != 0 && c->auto_ack()) c->sub()->add_credit(*c, req.credit());
}

void handle_settle(session& s, uint64_t correlation_id, codec::body kind, std::string_view bytes) {
  v1::Ack ack;
  v1::Nack nack;
  v1::ExtendLease extend;
  uint64_t consumer_id = 0;
  const google::protobuf::RepeatedField<uint64_t>* ids = nullptr;
  if (kind == codec::body::ack) {
    if (!parse(s, correlation_id, bytes, ack)) return;
    consumer_id = ack.consumer_id();
    ids = &ack.delivery_ids();
  } else if (kind == codec::body::nack) {
    if (!parse(s, correlation_id, bytes, nack)) return;
    consumer_id = nack.consumer_id();
    ids = &nack.delivery_ids();
  } else {
    if (!parse(s, correlation_id, bytes, extend)) return;
    consumer_id = extend.consumer_id();
    ids = &extend.delivery_ids();
  }
  consumer* c = s.find_consumer(consumer_id);
  if (c == nullptr || c->sub() == nullptr) {
    s.respond_error(correlation_id, errc::unknown_consumer,
                    "consumer " + std::to_string(consumer_id) + " is not open on this connection");
    return;
  }
  if (c->auto_ack()) {
    s.respond_error(correlation_id, errc::invalid_argument,
                    "consumer " + std::to_string(consumer_id) +
                        " is auto_ack: its deliveries are settled when sent");
    return;
  }
  s.ctx().topics().begin_event();
  subscription::settle_request r;
  if (kind == codec::body::ack) {
    r.kind = subscription::settle_kind::ack;
  } else if (kind == codec::body::nack) {
    r.kind = nack.action() == v1::Nack::DEAD_LETTER ? subscription::settle_kind::dead_letter
                                                    : subscription::settle_kind::requeue;
    r.reason = nack.reason();
  } else {
    r.kind = subscription::settle_kind::extend;
    r.lease_ms = extend.extend_ms();
  }
  v1::SettleOk ok;
  ok.set_settled(c->sub()->settle(
      *c, r, std::span<const uint64_t>(ids->data(), static_cast<size_t>(ids->size())),
      [&ok](uint64_t id, errc code, const std::string& why) {
        auto* e = ok.add_errors();
        e->set_delivery_id(id);
        e->set_code(codec::to_wire(code));
        e->set_message(why);
      }));
  s.respond(correlation_id, codec::body::settle_ok, ok);
}

}  // namespace ferry::broker::handlers
