// The session's own requests: Hello and AuthResponse (the handshake), Ping, Pong, WhoAmI.
#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/protocol/handlers.h"

namespace ferry::broker::handlers {
namespace {

void refuse(session& s, const ferry::error& err, responder& r) {
  log::security().warn("conn {} ({}): authentication refused: {}", s.id(), s.conn().peer(),
                       err.message);
  r.fail(errc::unauthenticated, err.message);
}

// The handshake's next step: a challenge (the exchange waits in the session), or done.
void proceed(request_context& ctx, std::string client_id, auth_step step, responder& r) {
  session& s = ctx.client;
  if (!step.done) {
    v1::AuthChallenge ch;
    ch.set_sasl(std::move(step.reply));
    s.await_auth(std::move(client_id), r.correlation_id(), std::move(step.next));
    return r.respond(codec::body::auth_challenge, ch);
  }
  // The principal's quota: its place among its connections, its frame limit.
  std::shared_ptr<void> lease;
  if (auto err = ctx.limits.connect(step.who, lease)) {
    log::security().warn("conn {} ({}): refused: {}", s.id(), s.conn().peer(), err.message);
    return r.fail(errc::resource_exhausted, err.message);
  }
  // The principal's frame quota limits what it sends, not what it is sent.
  uint32_t frames = ctx.limits.effective(step.who).max_frame_bytes();
  if (frames >= ctx.info.max_frame_bytes) frames = 0;
  if (ctx.auth.required())
    log::security().info("conn {} ({}): authenticated as {} ({})", s.id(), s.conn().peer(),
                         quoted(step.who.name), step.who.mechanism);
  v1::HelloOk ok;
  ok.set_protocol_version(codec::protocol_version);
  ok.set_server_software(ctx.info.server_software);
  ok.set_session_id(s.id());
  ok.set_max_frame_bytes(ctx.info.max_frame_bytes);
  ok.set_max_client_frame_bytes(frames);
  ok.set_max_message_bytes(ctx.info.max_message_bytes);
  ok.set_sasl(std::move(step.reply));
  ok.set_principal(step.who.name);
  s.set_handshaken(std::move(client_id), std::move(step.who), std::move(lease), frames);
  r.respond(codec::body::hello_ok, ok);
}

}  // namespace

void hello(request_context& ctx, const v1::Hello& req, responder r) {
  if (req.protocol_version() != codec::protocol_version)
    return r.fail(errc::unsupported_version, "protocol version " +
                                                 std::to_string(req.protocol_version()) +
                                                 " is not supported; this broker speaks version " +
                                                 std::to_string(codec::protocol_version));
  log::net().debug("conn {} ({}): hello from client '{}' ({})", ctx.client.id(),
                   ctx.client.conn().peer(), req.client_id(), req.client_software());
  auth_step step;
  if (auto err = ctx.auth.begin(req.credentials(), ctx.client.conn().peer_identity(), step))
    return refuse(ctx.client, err, r);
  proceed(ctx, req.client_id(), std::move(step), r);
}

void auth_response(request_context& ctx, const v1::AuthResponse& req, responder r) {
  session& s = ctx.client;
  auto exchange = s.take_auth();
  if (!exchange) return r.fail(errc::not_handshaken, "AuthResponse without an exchange under way");
  auth_step step;
  if (auto err = exchange->step(req.sasl(), step)) return refuse(s, err, r);
  proceed(ctx, s.client_id(), std::move(step), r);
}

void ping(request_context&, const v1::Ping&, responder r) {
  r.respond(codec::body::pong, v1::Pong());
}

void pong(request_context&, const v1::Pong&, responder) {}

void who_am_i(request_context& ctx, const v1::WhoAmI&, responder r) {
  r.respond(codec::body::who_am_i_ok, security_service::who_am_i(ctx.client.who()));
}

}  // namespace ferry::broker::handlers
