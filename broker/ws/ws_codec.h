// ws_codec: the WebSocket front end's messages (ferry.v1 WsRequest / WsEvent,
// websocket.proto) as the connection's format writes them: JSON text (the REST API's
// JSON; deliveries as CloudEvents) or protobuf binary. Pure: no sockets.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <string_view>

#include "ferry/v1/websocket.pb.h"

#include "broker/topics/consumer.h"
#include "proto/codec/errc.h"

namespace ferry::broker::ws {

enum class format { json, protobuf };

// A request from a text (JSON) or binary (protobuf) message. INVALID_ARGUMENT naming what
// is wrong: not one operation, an unknown field, a wrong type.
ferry::error read_request(std::string_view data, bool text, v1::WsRequest& out);

// An answer or event (its oneof set; not deliveries) in `f`.
std::string write_event(const v1::WsEvent& e, format f);
// An error answer to request `id`: JSON {"id": N, "error": {"code": "TOPIC_NOT_FOUND",
// "message": "..."}} (the REST error body's shape), or WsEvent.error.
std::string write_error(uint64_t id, const ferry::error& err, format f);

// Names a delivered message that has no CloudEvent id: the same on every redelivery.
struct event_namer {
  std::string_view subscription;  // memory topics: "<subscription>/<sequence>"
  // log topics (no subscription): "<topic>/<partition>/<offset>"
};

// Appends one message holding `deliveries` of consumer `consumer_id` to `out`: JSON
// {"id": 0, "deliver": {"consumer_id": C, "deliveries": [{..., "event": {CloudEvent}}]}}
// or WsEvent.deliver (ferry.v1.Deliver, the binary protocol's).
void write_deliveries(std::string& out, uint64_t consumer_id,
                      std::span<const pending_delivery> deliveries, const event_namer& names,
                      format f);

}  // namespace ferry::broker::ws
