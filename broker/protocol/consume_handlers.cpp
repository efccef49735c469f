// Consuming memory topics: Subscribe, Unsubscribe, Credit, and settling deliveries (Ack,
// Nack, ExtendLease).
#include "broker/protocol/handlers.h"
#include "broker/services/consumer_table.h"

namespace ferry::broker::handlers {
namespace {

void settle(request_context& ctx, uint64_t consumer_id, const subscription::settle_request& s,
            const google::protobuf::RepeatedField<uint64_t>& ids, const responder& r) {
  ctx.services.consume.settle(
      ctx.client.consumers(), consumer_id, s,
      std::span<const uint64_t>(ids.data(), static_cast<size_t>(ids.size())),
      [r](const ferry::error& err, const v1::SettleOk& ok) {
        r.answer(err, codec::body::settle_ok, ok);
      });
}

}  // namespace

void subscribe(request_context& ctx, const v1::Subscribe& req, responder r) {
  ctx.services.consume.subscribe(ctx.client.consumers(), req,
                                 [r](const ferry::error& err, const v1::SubscribeOk& ok) {
                                   r.answer(err, codec::body::subscribe_ok, ok);
                                 });
}

void unsubscribe(request_context& ctx, const v1::Unsubscribe& req, responder r) {
  auto err = ctx.services.consume.unsubscribe(ctx.client.consumers(), req.consumer_id());
  r.answer(err, codec::body::unsubscribe_ok, v1::UnsubscribeOk());
}

void credit(request_context& ctx, const v1::Credit& req, responder) {
  ctx.services.consume.credit(ctx.client.consumers(), req);
}

void ack(request_context& ctx, const v1::Ack& req, responder r) {
  settle(ctx, req.consumer_id(), {subscription::settle_kind::ack, {}, 0}, req.delivery_ids(), r);
}

void nack(request_context& ctx, const v1::Nack& req, responder r) {
  auto kind = req.action() == v1::Nack::DEAD_LETTER ? subscription::settle_kind::dead_letter
                                                    : subscription::settle_kind::requeue;
  settle(ctx, req.consumer_id(), {kind, req.reason(), 0}, req.delivery_ids(), r);
}

void extend_lease(request_context& ctx, const v1::ExtendLease& req, responder r) {
  settle(ctx, req.consumer_id(), {subscription::settle_kind::extend, {}, req.extend_ms()},
         req.delivery_ids(), r);
}

}  // namespace ferry::broker::handlers
