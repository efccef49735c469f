// The session's own requests: Hello (the handshake), Ping, Pong.
#include "broker/core/log.h"
#include "broker/protocol/handlers.h"

namespace ferry::broker::handlers {

void hello(request_context& ctx, const v1::Hello& req, responder r) {
  if (req.protocol_version() != codec::protocol_version)
    return r.fail(errc::unsupported_version, "protocol version " +
                                                 std::to_string(req.protocol_version()) +
                                                 " is not supported; this broker speaks version " +
                                                 std::to_string(codec::protocol_version));
  principal who;
  if (auto err = ctx.auth.authenticate(req.credentials(), who))
    return r.fail(errc::unauthenticated, err.message);
  session& s = ctx.client;
  s.set_handshaken(req.client_id(), std::move(who));
  v1::HelloOk ok;
  ok.set_protocol_version(codec::protocol_version);
  ok.set_server_software(ctx.info.server_software);
  ok.set_session_id(s.id());
  ok.set_max_frame_bytes(ctx.info.max_frame_bytes);
  ok.set_max_message_bytes(ctx.info.max_message_bytes);
  r.respond(codec::body::hello_ok, ok);
  log::net().debug("conn {} ({}): hello from client '{}' ({})", s.id(), s.conn().peer(),
                   req.client_id(), req.client_software());
}

void ping(request_context&, const v1::Ping&, responder r) {
  r.respond(codec::body::pong, v1::Pong());
}

void pong(request_context&, const v1::Pong&, responder) {}

}  // namespace ferry::broker::handlers
