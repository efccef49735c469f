// Publish: from the client's frame to the publish service (and on to a topic).
#include "broker/protocol/handlers.h"

namespace ferry::broker::handlers {

void publish(request_context& ctx, std::string_view body, codec::publish_view& head,
             std::vector<std::string_view>& messages, responder r) {
  publish_request req{body, head, messages};
  // Memory topics answer at once; log topics once their records are durable.
  ctx.services.publish.publish(req, [r](const ferry::error& err, v1::PublishOk&& ok) {
    r.answer(err, codec::body::publish_ok, ok);
  });
}

}  // namespace ferry::broker::handlers
