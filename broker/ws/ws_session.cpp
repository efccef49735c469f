#include "broker/ws/ws_session.h"

#include "broker/core/clock.h"
#include "broker/core/log.h"
#include "broker/security/request_access.h"
#include "broker/services/consume_service.h"
#include "broker/services/group_service.h"
#include "proto/codec/text.h"
#include "proto/codec/wire_errors.h"

namespace ferry::broker {

using kind = subscription::settle_kind;
using op = v1::WsRequest;

namespace {

// What a request is authorized for: what the binary protocol's pipeline checks for it.
void targets_of(const v1::WsRequest& req, access_targets& t) {
  switch (req.op_case()) {
    case op::kSubscribe: return access::subscribe(req.subscribe(), t);
    case op::kConsumeLog: return access::consume_log(req.consume_log(), t);
    case op::kCommitOffsets: {
      const auto& c = req.commit_offsets();
      return access::group_offsets(c.group(), operation::consume, c.topic(), operation::consume, t);
    }
    case op::kPing: return t.add(resource_kind::broker, {}, operation::connect);
    default:  // settling, credit, seek: a consumer of this client, authorized when opened
      return t.add(resource_kind::consumer, {}, operation::consume);
  }
}

}  // namespace

ws_session::ws_session(const ws_environment& env, ws_output& out, uint64_t id, principal who,
                       std::string client_id, ws::format f)
    : env_(env),
      out_(out),
      id_(id),
      who_(std::move(who)),
      client_id_(std::move(client_id)),
      format_(f),
      consumers_(env.consume.client_context(), *this, &last_activity_ms_, &output_gate_closed_) {}

ws_session::~ws_session() = default;

void ws_session::on_message(std::string_view data, bool text) {
  last_activity_ms_ = env_.clock.now();
  v1::WsRequest req;
  if (auto err = ws::read_request(data, text, req))
    return send(ws::write_error(req.id(), err, format_));
  access_targets t;
  targets_of(req, t);
  if (auto err = authorize_all(env_.authz, who_, t))
    return send(ws::write_error(req.id(), err, format_));
  handle(req);
}

void ws_session::handle(const v1::WsRequest& req) {
  const uint64_t id = req.id();
  // Answers that may come later find the session by a weak reference.
  auto later = [weak = weak_from_this(), id](auto set) {
    return [weak, id, set](const ferry::error& err, const auto& ok) {
      auto self = weak.lock();
      if (!self) return;
      v1::WsEvent e;
      if (!err) *set(e) = ok;
      self->answer(id, err, e);
    };
  };
  switch (req.op_case()) {
    case op::kSubscribe:
      return env_.consume.subscribe(consumers_, req.subscribe(),
                                    later([](v1::WsEvent& e) { return e.mutable_subscribe_ok(); }));
    case op::kConsumeLog:
      return env_.consume.consume_log(
          consumers_, req.consume_log(), client_id_,
          later([](v1::WsEvent& e) { return e.mutable_consume_log_ok(); }));
    case op::kSeek:
      return env_.consume.seek(consumers_, req.seek(),
                               later([](v1::WsEvent& e) { return e.mutable_seek_ok(); }));
    case op::kCommitOffsets:
      return env_.groups.commit_offsets(consumers_, req.commit_offsets(), later([](v1::WsEvent& e) {
                                          return e.mutable_commit_offsets_ok();
                                        }));
    case op::kCredit: return env_.consume.credit(consumers_, req.credit());
    case op::kRevokeDone: return env_.groups.revoke_done(consumers_, req.revoke_done());
    case op::kPing: {
      v1::WsEvent e;
      e.mutable_pong();
      return answer(id, {}, e);
    }
    case op::kUnsubscribe: {
      v1::WsEvent e;
      e.mutable_unsubscribe_ok();
      return answer(id, env_.consume.unsubscribe(consumers_, req.unsubscribe().consumer_id()), e);
    }
    case op::kAck:
      return settle(id, req.ack().consumer_id(), {kind::ack, {}, 0}, req.ack().delivery_ids());
    case op::kNack: {
      const auto& n = req.nack();
      const auto k = n.action() == v1::Nack::DEAD_LETTER ? kind::dead_letter : kind::requeue;
      return settle(id, n.consumer_id(), {k, n.reason(), 0}, n.delivery_ids());
    }
    case op::kExtendLease: {
      const auto& x = req.extend_lease();
      return settle(id, x.consumer_id(), {kind::extend, {}, x.extend_ms()}, x.delivery_ids());
    }
    case op::OP_NOT_SET: break;  // read_request refused it
  }
}

void ws_session::settle(uint64_t request_id, uint64_t consumer_id,
                        const subscription::settle_request& s,
                        const google::protobuf::RepeatedField<uint64_t>& ids) {
  // The answer may come later (a subscription on a log topic): the table's lifetime, which
  // ends with this session, guards it.
  env_.consume.settle(consumers_, consumer_id, s,
                      std::span<const uint64_t>(ids.data(), static_cast<size_t>(ids.size())),
                      [this, request_id](const ferry::error& err, const v1::SettleOk& ok) {
                        v1::WsEvent e;
                        *e.mutable_settle_ok() = ok;
                        answer(request_id, err, e);
                      });
}

void ws_session::answer(uint64_t id, const ferry::error& err, v1::WsEvent& event) {
  if (err) return send(ws::write_error(id, err, format_));
  event.set_id(id);
  send(ws::write_event(event, format_));
}

// Over the outbound limit the client is cut off: the connection closes its transport at
// once and tears the session down in an event of its own (on_close), never inside this
// call, whose callers may be walking the consumers.
void ws_session::send(std::string message) {
  if (closed_ || cut_off_) return;
  const size_t limit = env_.settings.ws_max_outbound_bytes;
  if (out_.unsent_bytes() + message.size() > limit) {
    log::net().info("ws {}: cut off: {} bytes unsent (http.ws_max_outbound_bytes)", id_,
                    out_.unsent_bytes());
    cut_off_ = true;
    return out_.cut("the client does not read: http.ws_max_outbound_bytes unsent");
  }
  out_.send(std::move(message), format_ == ws::format::json);
}

// ---- delivery_sink ----

void ws_session::deliver(consumer& c, const message_ref& m, const delivery_meta& meta) {
  c.outbox.push_back(pending_delivery{m, meta});
  account_output(output_estimate(m));
  if (!c.in_dirty_list) {
    c.in_dirty_list = true;
    dirty_consumers_.push_back(&c);
  }
  mark_dirty();
}

void ws_session::consumer_cancelled(consumer& c, errc code, std::string_view why) {
  v1::WsEvent e;
  auto& n = *e.mutable_notice();
  n.set_kind(v1::Notice::CONSUMER_CANCELLED);
  n.set_code(codec::to_wire(code));
  n.set_message(text::sendable(why));
  n.set_consumer_id(c.id());
  send(ws::write_event(e, format_));
  std::erase(dirty_consumers_, &c);
  clear_outbox(c);
  consumers_.forget(c.id());
}

void ws_session::assignment_changed(consumer& c, const v1::Assignment& a) {
  // What was batched for the consumer goes first: no delivery of a revoked partition
  // follows the Assignment that revokes it.
  std::erase(dirty_consumers_, &c);
  c.in_dirty_list = false;
  write_deliveries(c);
  v1::WsEvent e;
  *e.mutable_assignment() = a;
  send(ws::write_event(e, format_));
}

void ws_session::consumer_closing(consumer& c, bool write_pending) {
  std::erase(dirty_consumers_, &c);
  c.in_dirty_list = false;
  if (write_pending) return write_deliveries(c);
  clear_outbox(c);
}

// ---- output ----

void ws_session::mark_dirty() {
  if (dirty_ || closed_) return;
  dirty_ = true;
  env_.hub.mark_dirty(weak_from_this());
}

void ws_session::flush() {
  dirty_ = false;
  for (consumer* c : dirty_consumers_) {
    c->in_dirty_list = false;
    write_deliveries(*c);
  }
  dirty_consumers_.clear();
}

size_t ws_session::output_estimate(const message_ref& m) const {
  return format_ == ws::format::json ? m.size() / 3 * 4 + 320 : m.size() + 48;
}

// One message per run of deliveries of about http.ws_max_message_bytes.
void ws_session::write_deliveries(consumer& c) {
  if (!closed_ && !c.outbox.empty()) {
    const ws::event_namer names{c.sub() != nullptr ? std::string_view(c.sub()->name())
                                                   : std::string_view()};
    const std::span<const pending_delivery> all(c.outbox);
    size_t begin = 0;
    while (begin < all.size()) {
      size_t end = begin, bytes = 0;
      for (; end < all.size() && (end == begin || bytes < env_.settings.ws_max_message_bytes);
           ++end)
        bytes += output_estimate(all[end].msg);
      std::string message;
      ws::write_deliveries(message, c.id(), all.subspan(begin, end - begin), names, format_);
      send(std::move(message));
      begin = end;
    }
  }
  clear_outbox(c);
}

void ws_session::clear_outbox(consumer& c) {
  for (const auto& p : c.outbox)
    outbox_bytes_ -= output_estimate(p.msg);
  c.outbox.clear();
}

size_t ws_session::pause_bytes() const {
  return std::min<size_t>(4 << 20, env_.settings.ws_max_outbound_bytes / 2);
}

void ws_session::account_output(size_t added) {
  outbox_bytes_ += added;
  if (!output_gate_closed_ && outbox_bytes_ + out_.unsent_bytes() >= pause_bytes())
    output_gate_closed_ = true;
}

void ws_session::on_output_written() {
  if (!output_gate_closed_ || outbox_bytes_ + out_.unsent_bytes() > pause_bytes() / 2) return;
  output_gate_closed_ = false;
  if (closed_) return;
  env_.clock.stamp();
  // Hand out what the gate held back: the sources stopped at has_credit().
  for (uint64_t id : consumers_.ids())
    if (consumer* c = consumers_.find(id); c != nullptr && c->source() != nullptr)
      c->source()->credit(*c, 0);
  env_.hub.flush();
}

void ws_session::touched() {
  last_activity_ms_ = env_.clock.now();
}

void ws_session::on_close() {
  if (closed_) return;
  auto self = shared_from_this();  // closing consumers may drop the last other reference
  env_.clock.stamp();
  closed_ = true;
  dirty_consumers_.clear();
  consumers_.remove_all();
  env_.hub.flush();  // requeued deliveries may have gone to other clients
}

// ---- hub_member: the WebSocket server closes its sessions itself at shutdown ----

void ws_session::begin_drain() {
  out_.close(1001, "the broker is shutting down");
}

void ws_session::shut_down() {
  begin_drain();
}

void ws_session::close_consumers() {
  dirty_consumers_.clear();
  consumers_.remove_all();
}

}  // namespace ferry::broker
