#include "broker/session/session.h"

#include <google/protobuf/message_lite.h>

#include "ferry/v1/log.pb.h"
#include "ferry/v1/session.pb.h"

#include "broker/core/log.h"
#include "broker/services/consume_service.h"
#include "broker/services/consumer_table.h"
#include "broker/services/topic_service.h"
#include "broker/session/request_handler.h"
#include "proto/codec/text.h"
#include "proto/codec/wire_errors.h"

namespace ferry::broker {

session::session(const environment& env, std::shared_ptr<connection> conn)
    : env_(env),
      conn_(std::move(conn)),
      consumers_(env.consume.client_context(), *this, &last_activity_ms_, &output_gate_closed_) {}

session::~session() = default;

void session::start() {
  conn_->start(*this);
}

void session::set_handshaken(std::string client_id, principal who, std::shared_ptr<void> lease,
                             uint32_t max_frame_bytes) {
  handshaken_ = true;
  env_.hub.handshake_done();
  client_id_ = std::move(client_id);
  who_ = std::move(who);
  quota_lease_ = std::move(lease);
  if (max_frame_bytes != 0) conn_->limit_inbound_frames(max_frame_bytes);
  conn_->handshake_done();
}

void session::await_auth(std::string client_id, uint64_t correlation_id,
                         std::unique_ptr<auth_exchange> next) {
  client_id_ = std::move(client_id);
  auth_correlation_id_ = correlation_id;
  pending_auth_ = std::move(next);
}

// ---- connection_handler ----

void session::on_frame(std::string_view frame) {
  codec::frame_view fv;
  if (codec::parse_frame(frame, fv) != errc::ok) {
    fail(0, errc::malformed_frame, "frame is not a valid ferry.v1.Frame");
    return;
  }
  env_.requests.on_request(*this, fv);  // the pipeline stamps the loop clock
  last_activity_ms_ = env_.clock.now();
}

void session::on_input_drained() {
  env_.hub.flush();
}

void session::on_framing_error(errc code, const std::string& message) {
  log::net().info("conn {} ({}): {}", id(), conn_->peer(), message);
  codec::append_error(conn_->out(), 0, code, message);
}

void session::on_close() {
  auto self = shared_from_this();  // the hub may hold the last reference
  env_.clock.stamp();
  closed_ = true;
  consumers_.remove_all();
  env_.topics.session_closed(id());
  deferred_.clear();
  log::net().debug("conn {} ({}) closed", id(), conn_->peer());
  env_.hub.remove(id());
  env_.hub.flush();  // requeued deliveries may have gone to other sessions
}

// ---- answering ----

void session::respond(uint64_t correlation_id, codec::body kind,
                      const google::protobuf::MessageLite& msg) {
  codec::append_frame(conn_->out(), correlation_id, kind, msg);
  mark_dirty();
}

void session::respond_error(uint64_t correlation_id, errc code, std::string_view message) {
  codec::append_error(conn_->out(), correlation_id, code, message);
  mark_dirty();
}

void session::respond_error(uint64_t correlation_id, const ferry::error& err) {
  respond_error(correlation_id, errc_of(err.code), err.message);
}

void session::notice(int kind, errc code, std::string_view message, uint64_t consumer_id) {
  v1::Notice n;
  n.set_kind(static_cast<v1::Notice::Kind>(kind));
  n.set_code(codec::to_wire(code));
  n.set_message(text::sendable(message));
  n.set_consumer_id(consumer_id);
  respond(0, codec::body::notice, n);
}

void session::fail(uint64_t correlation_id, errc code, std::string_view message) {
  log::net().info("conn {} ({}): closing: {}: {}", id(), conn_->peer(), errc_name(code), message);
  codec::append_error(conn_->out(), correlation_id, code, message);
  conn_->close_after_flush();
}

void session::mark_dirty() {
  if (dirty_ || closed_) return;
  dirty_ = true;
  env_.hub.mark_dirty(weak_from_this());
}

// ---- delivery_sink ----

void session::deliver(consumer& c, const message_ref& m, const delivery_meta& meta) {
  c.outbox.push_back(pending_delivery{m, meta});
  account_output(m.size());
  if (!c.in_dirty_list) {
    c.in_dirty_list = true;
    dirty_consumers_.push_back(&c);
  }
  mark_dirty();
}

void session::consumer_cancelled(consumer& c, errc code, std::string_view why) {
  notice(v1::Notice::CONSUMER_CANCELLED, code, why, c.id());
  // Deliveries batched but not written could no longer be settled: drop them.
  std::erase(dirty_consumers_, &c);
  clear_outbox(c);
  consumers_.forget(c.id());
}

void session::assignment_changed(consumer& c, const v1::Assignment& a) {
  // What was batched for the consumer goes first: no delivery of a revoked partition
  // follows the Assignment that revokes it.
  std::erase(dirty_consumers_, &c);
  c.in_dirty_list = false;
  write_deliveries(c);
  respond(0, codec::body::assignment, a);
}

void session::consumer_closing(consumer& c, bool write_pending) {
  std::erase(dirty_consumers_, &c);
  c.in_dirty_list = false;
  if (write_pending) {
    write_deliveries(c);
  } else {
    clear_outbox(c);
  }
}

// ---- output ----

void session::flush() {
  dirty_ = false;
  if (closed_) return;
  for (consumer* c : dirty_consumers_) {
    write_deliveries(*c);
    c->in_dirty_list = false;
  }
  dirty_consumers_.clear();
  conn_->flush();
}

void session::write_deliveries(consumer& c) {
  auto& out = conn_->out();
  const size_t max_entries = conn_->limits().max_frame_bytes - 64;
  auto view_of = [](const pending_delivery& p) {
    return codec::delivery_view{p.meta.delivery_id, p.meta.delivery_count, p.msg.topic,
                                p.msg.timestamp_ms, p.msg.bytes,           p.meta.partition,
                                p.meta.offset};
  };
  delivery_sizes_.clear();
  for (const auto& p : c.outbox)
    delivery_sizes_.push_back(codec::delivery_size(view_of(p)));
  size_t begin = 0;
  while (begin < c.outbox.size()) {
    // One Deliver frame per run of deliveries that fits under max_frame_bytes.
    size_t entries = 0, end = begin;
    for (; end < c.outbox.size(); ++end) {
      size_t e = codec::deliver_entry_size(delivery_sizes_[end]);
      if (end > begin && entries + e > max_entries) break;
      entries += e;
    }
    uint8_t* at = codec::begin_deliver_frame(out, c.id(), entries);
    for (size_t i = begin; i < end; ++i)
      at = codec::append_delivery(at, view_of(c.outbox[i]), delivery_sizes_[i]);
    begin = end;
  }
  clear_outbox(c);
}

void session::clear_outbox(consumer& c) {
  for (const auto& p : c.outbox)
    outbox_bytes_ -= p.msg.size();
  c.outbox.clear();
}

void session::account_output(size_t added) {
  outbox_bytes_ += added;
  if (!output_gate_closed_ &&
      outbox_bytes_ + conn_->unsent_bytes() >= conn_->limits().pause_outbound_bytes())
    output_gate_closed_ = true;
}

void session::on_output_written() {
  if (!output_gate_closed_ ||
      outbox_bytes_ + conn_->unsent_bytes() > conn_->limits().pause_outbound_bytes() / 2)
    return;
  output_gate_closed_ = false;
  if (closed_) return;
  env_.clock.stamp();
  // Hand out what the gate held back: the sources stopped at has_credit().
  for (uint64_t id : consumers_.ids())
    if (consumer* c = consumers_.find(id); c != nullptr && c->source() != nullptr)
      c->source()->credit(*c, 0);
  env_.hub.flush();
}

// ---- hub_member ----

void session::begin_drain() {
  draining_ = true;
  conn_->pause_reading();
  notice(v1::Notice::SHUTTING_DOWN, errc::shutting_down,
         "the broker is shutting down: requests already sent are answered, then the "
         "connection closes");
  flush();
}

void session::shut_down() {
  flush();
  conn_->close_after_flush();
}

void session::close_consumers() {
  consumers_.remove_all();
}

// ---- flow control ----

void session::on_flow_change(bool blocked, std::string_view why) {
  if (blocked) {
    notice(v1::Notice::FLOW_BLOCKED, errc::flow_blocked, std::string(why) + ": publishes wait");
  } else {
    notice(v1::Notice::FLOW_UNBLOCKED, errc::ok,
           "broker memory and storage are back under their limits: publishes flow");
  }
}

bool session::must_defer_publish() const {
  return env_.hub.flow_blocked() || !deferred_.empty();
}

void session::defer_publish(uint64_t correlation_id, std::string_view body) {
  if (deferred_.empty()) env_.hub.mark_deferring(weak_from_this());  // the flush point drains it
  deferred_bytes_ += body.size();
  deferred_.push_back({correlation_id, std::string(body)});
  if (deferred_bytes_ > env_.hub.settings().max_deferred_publish_bytes) conn_->pause_reading();
}

void session::drain_deferred() {
  if (closed_) return;
  env_.clock.stamp();
  while (!deferred_.empty() && !env_.hub.blocked_now()) {
    auto d = std::move(deferred_.front());
    deferred_.pop_front();
    deferred_bytes_ -= d.body.size();
    env_.requests.on_deferred_publish(*this, d.correlation_id, d.body);
  }
  if (!deferred_.empty()) env_.hub.mark_deferring(weak_from_this());
  if (!draining_ && deferred_bytes_ <= env_.hub.settings().max_deferred_publish_bytes)
    conn_->resume_reading();
}

}  // namespace ferry::broker
