#include "broker/handlers/dispatch.h"

#include "ferry/v1/session.pb.h"

#include "broker/core/log.h"
#include "broker/handlers/parse.h"
#include "broker/server/context.h"
#include "broker/session/session.h"

namespace ferry::broker::handlers {

using codec::body;

void dispatch(session& s, const codec::frame_view& f) {
  if (!s.handshaken()) {
    if (f.kind != body::hello) {
      s.fail(f.correlation_id, errc::not_handshaken, "the first frame must be Hello");
      return;
    }
    handle_hello(s, f.correlation_id, f.bytes);
    return;
  }
  switch (f.kind) {
    case body::publish: s.publish_or_defer(f.correlation_id, f.bytes); return;
    case body::credit: handle_credit(s, f.bytes); return;
    case body::ack:
    case body::nack:
    case body::extend_lease: handle_settle(s, f.correlation_id, f.kind, f.bytes); return;
    case body::subscribe: handle_subscribe(s, f.correlation_id, f.bytes); return;
    case body::unsubscribe: handle_unsubscribe(s, f.correlation_id, f.bytes); return;
    case body::ping: {
      v1::Ping ping;
      if (parse(s, f.correlation_id, f.bytes, ping))
        s.respond(f.correlation_id, body::pong, v1::Pong());
      return;
    }
    case body::pong: {
      v1::Pong pong;  // nothing to do, but a body that does not parse is still malformed
      (void)parse(s, f.correlation_id, f.bytes, pong);
      return;
    }
    case body::create_topic:
    case body::delete_topic:
    case body::list_topics:
    case body::describe_topic:
    case body::create_subscription:
    case body::delete_subscription:
    case body::list_subscriptions:
    case body::describe_subscription: handle_admin(s, f.correlation_id, f.kind, f.bytes); return;
    case body::consume_log: handle_consume_log(s, f.correlation_id, f.bytes); return;
    case body::seek: handle_seek(s, f.correlation_id, f.bytes); return;
    case body::revoke_done: handle_revoke_done(s, f.bytes); return;
    case body::commit_offsets: handle_commit_offsets(s, f.correlation_id, f.bytes); return;
    case body::fetch_offsets: handle_fetch_offsets(s, f.correlation_id, f.bytes); return;
    case body::list_groups: handle_list_groups(s, f.correlation_id, f.bytes); return;
    case body::describe_group: handle_describe_group(s, f.correlation_id, f.bytes); return;
    case body::hello:
      s.fail(f.correlation_id, errc::not_handshaken, "Hello was already sent");
      return;
    default:
      s.respond_error(f.correlation_id, errc::unknown_request,
                      "frame body " + std::to_string(static_cast<uint32_t>(f.kind)) +
                          " is not a request this broker knows");
      return;
  }
}

void handle_hello(session& s, uint64_t correlation_id, std::string_view bytes) {
  v1::Hello hello;
  if (!hello.ParseFromArray(bytes.data(), static_cast<int>(bytes.size()))) {
    s.fail(correlation_id, errc::malformed_frame, "Hello is not a valid ferry.v1.Hello");
    return;
  }
  if (hello.protocol_version() != codec::protocol_version) {
    s.fail(correlation_id, errc::unsupported_version,
           "protocol version " + std::to_string(hello.protocol_version()) +
               " is not supported; this broker speaks version " +
               std::to_string(codec::protocol_version));
    return;
  }
  s.set_handshaken(hello.client_id());
  const auto& lim = s.ctx().options().limits;
  v1::HelloOk ok;
  ok.set_protocol_version(codec::protocol_version);
  ok.set_server_software("ferryd/0.1.0");
  ok.set_session_id(s.id());
  ok.set_max_frame_bytes(static_cast<uint32_t>(lim.max_frame_bytes));
  ok.set_max_message_bytes(static_cast<uint32_t>(lim.max_message_bytes));
  s.respond(correlation_id, body::hello_ok, ok);
  log::net().debug("conn {} ({}): hello from client '{}' ({})", s.id(), s.conn().peer(),
                   hello.client_id(), hello.client_software());
}

}  // namespace ferry::broker::handlers
