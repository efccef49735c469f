// client_impl: what the read loop does with each frame from the broker. Responses go to
// the pending_op with their correlation id (in any order); pushes (correlation id 0) are
// deliveries, group assignments and notices; Ping is answered at once.
#include "ferry/v1/session.pb.h"

#include "client/src/client_impl.h"

namespace ferry::client::detail {

void client_impl::handle_frame(std::string_view frame) {
  codec::frame_view f;
  if (codec::parse_frame(frame, f) != errc::ok) {
    drop_connection(make_error(errc::malformed_frame, "the broker sent a malformed frame"));
    return;
  }
  if (f.kind == codec::body::ping) {
    send_push(f.correlation_id, codec::body::pong, v1::Pong());
    return;
  }
  if (f.correlation_id == 0) {
    handle_push(f);
    return;
  }
  auto it = ops_.find(f.correlation_id);
  if (it == ops_.end()) return;  // timed out already, or the Pong to our Ping
  auto op = std::move(it->second);
  ops_.erase(it);
  op->on_response(*this, f);
}

void client_impl::handle_push(const codec::frame_view& f) {
  switch (f.kind) {
    case codec::body::deliver: on_deliver(f.bytes); break;
    case codec::body::assignment: log_reader_.on_assignment(f.bytes); break;
    case codec::body::notice: handle_notice(f.bytes); break;
    case codec::body::error:
      // A fatal error just before the broker closes: it is the disconnect's reason.
      drop_connection(error_from_body(f.bytes));
      break;
    default: break;  // pushes we do not know are tolerated
  }
}

// A Deliver frame goes to the part that owns its consumer id. One copy and one allocation
// per frame; deliveries point into it.
void client_impl::on_deliver(std::string_view body) {
  // uint8_t pointers: the vector copies with memmove (from char iterators g++ may emit a
  // byte loop, which once took a sixth of a consumer's time).
  const auto* bytes = reinterpret_cast<const uint8_t*>(body.data());
  auto frame = std::make_shared<const std::vector<uint8_t>>(bytes, bytes + body.size());
  std::vector<codec::delivery_view> views = std::move(deliver_scratch_);  // reentrancy-safe
  uint64_t cid = 0;
  if (codec::parse_deliver(wire::as_view(*frame), cid, views) != errc::ok) {
    drop_connection(make_error(errc::malformed_frame, "malformed Deliver from the broker"));
  } else if (subscriber_.owns(cid)) {
    subscriber_.on_deliver(frame, cid, views);
  } else {
    log_reader_.on_deliver(frame, cid, views);
  }
  views.clear();
  deliver_scratch_ = std::move(views);
}

namespace {
errc default_code(v1::Notice::Kind kind) {
  switch (kind) {
    case v1::Notice::FLOW_BLOCKED: return errc::flow_blocked;
    case v1::Notice::CONSUMER_CANCELLED: return errc::unknown_consumer;
    case v1::Notice::SHUTTING_DOWN: return errc::shutting_down;
    case v1::Notice::CLOSING: return errc::disconnected;
    default: return errc::ok;
  }
}
}  // namespace

void client_impl::handle_notice(std::string_view body) {
  v1::Notice n;
  if (!n.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    drop_connection(make_error(errc::malformed_frame, "unparsable Notice from the broker"));
    return;
  }
  errc code = n.code() != 0 ? errc_from_wire(n.code()) : default_code(n.kind());
  error e{make_error_code(code), n.message()};
  const std::string& kind = v1::Notice::Kind_Name(n.kind());
  switch (n.kind()) {
    case v1::Notice::FLOW_BLOCKED:
    case v1::Notice::FLOW_UNBLOCKED:
      // Publishes are confirmed later, not refused: only their timeout changes.
      on_flow(n.kind() == v1::Notice::FLOW_BLOCKED);
      notice(kind, e);
      break;
    case v1::Notice::CONSUMER_CANCELLED:
      if (!subscriber_.on_cancelled(n.consumer_id(), e))
        log_reader_.on_cancelled(n.consumer_id(), e);
      notice(kind, e);
      break;
    case v1::Notice::SHUTTING_DOWN:
    case v1::Notice::CLOSING:
      notice(kind, e);
      on_closing_notice(e);
      break;
    default: break;
  }
}

// The broker stops reading, writes what it has queued (responses we still want) and
// closes; then the usual reconnect applies, with this notice as the reason. A guard
// timer drops the connection should the broker not close it.
void client_impl::on_closing_notice(const error& e) {
  if (!conn_ || conn_->dead) return;
  auto c = conn_;
  c->reason = e;
  c->heartbeat.cancel();  // heartbeats are moot now; the timer guards the close instead
  c->heartbeat.expires_after(opts_.connect_timeout);
  c->heartbeat.async_wait([self = shared_from_this(), c](boost::system::error_code ec) {
    if (!ec && self->conn_ == c) self->drop_connection(c->reason);
  });
}

}  // namespace ferry::client::detail
