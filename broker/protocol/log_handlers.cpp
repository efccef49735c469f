// Log topics: ConsumeLog (attach a reader at positions, or join a group), Seek.
#include "broker/protocol/handlers.h"

namespace ferry::broker::handlers {

void consume_log(request_context& ctx, const v1::ConsumeLog& req, responder r) {
  ctx.services.consume.consume_log(ctx.client.consumers(), req, ctx.client.client_id(),
                                   [r](const ferry::error& err, const v1::ConsumeLogOk& ok) {
                                     r.answer(err, codec::body::consume_log_ok, ok);
                                   });
}

void seek(request_context& ctx, const v1::Seek& req, responder r) {
  ctx.services.consume.seek(ctx.client.consumers(), req,
                            [r](const ferry::error& err, const v1::SeekOk& ok) {
                              r.answer(err, codec::body::seek_ok, ok);
                            });
}

}  // namespace ferry::broker::handlers
