// client_impl: the table of requests waiting for their response, the write path and the
// request timeout sweep. The connection's life (connect, handshake, read loop,
// reconnect) is in connection.cpp; frames from the broker are dispatched in frames.cpp.
#include "client/src/client_impl.h"

#include <cstdio>

#include <boost/asio/post.hpp>

#include "ferry/v1/errors.pb.h"

namespace ferry::client::detail {

namespace {

// A request whose body and response are generated messages (admin, Subscribe, ...).
class request_op final : public pending_op {
 public:
  request_op(codec::body kind, std::shared_ptr<const google::protobuf::MessageLite> req,
             codec::body expect, std::shared_ptr<google::protobuf::MessageLite> resp,
             void_handler h)
      : kind_(kind),
        expect_(expect),
        req_(std::move(req)),
        resp_(std::move(resp)),
        h_(std::move(h)) {}

  void write(std::vector<uint8_t>& out, uint64_t id) override {
    reserve_more(out, req_->ByteSizeLong() + 32);
    codec::append_frame(out, id, kind_, *req_);
  }

  void on_response(link& c, const codec::frame_view& f) override {
    error e;
    if (f.kind == expect_) {
      if (!resp_->ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size())))
        e = make_error(errc::malformed_frame, "unparsable response from the broker");
    } else if (f.kind == codec::body::error) {
      e = error_from_body(f.bytes);
    } else {
      e = make_error(errc::internal,
                     "unexpected response kind " + std::to_string(static_cast<uint32_t>(f.kind)));
    }
    complete(c.executor(), std::move(h_), std::move(e));
  }

  void on_failure(link& c, const error& e) override { complete(c.executor(), std::move(h_), e); }

 private:
  codec::body kind_;
  codec::body expect_;
  std::shared_ptr<const google::protobuf::MessageLite> req_;
  std::shared_ptr<google::protobuf::MessageLite> resp_;
  void_handler h_;
};

}  // namespace

error error_from_body(std::string_view body) {
  v1::Error e;
  if (!e.ParseFromArray(body.data(), static_cast<int>(body.size())))
    return make_error(errc::malformed_frame, "unparsable Error frame from the broker");
  return error{make_error_code(errc_from_wire(e.code())), e.message()};
}

void log_warning(const std::string& line) {
  std::fprintf(stderr, "libferry: %s\n", line.c_str());
}

client_impl::client_impl(asio::any_io_executor ex, client_options opts)
    : ex_(std::move(ex)),
      opts_(std::move(opts)),
      rng_(std::random_device{}()),
      sweep_timer_(ex_),
      backoff_timer_(ex_),
      publisher_(*this),
      subscriber_(*this),
      log_reader_(*this),
      requester_(*this, publisher_, subscriber_,
                 [this] { return std::make_shared<consumer_state>(ex_, weak_from_this()); }) {
  producer_id_ = random_hex(32);
  if (opts_.client_id.empty()) opts_.client_id = "libferry-" + random_hex(8);
}

client_impl::~client_impl() = default;

std::string client_impl::random_hex(size_t chars) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string s(chars, '0');
  for (auto& ch : s)
    ch = digits[rng_() & 15];
  return s;
}

void client_impl::register_op(uint64_t id, std::unique_ptr<pending_op> op) {
  if (closed_) {
    // Possibly inside an initiating function: never complete inline.
    asio::post(ex_, [self = shared_from_this(), op = std::move(op)] {
      op->on_failure(*self, make_error(errc::disconnected, "client closed"));
    });
    return;
  }
  op->deadline = clock::now() + opts_.request_timeout;
  auto at = op->deadline;
  auto& slot = ops_[id];
  slot = std::move(op);
  if (connected()) write_op(id, *slot);
  arm_sweep(at);
}

void client_impl::send_request(codec::body kind,
                               std::shared_ptr<const google::protobuf::MessageLite> req,
                               codec::body expect,
                               std::shared_ptr<google::protobuf::MessageLite> resp,
                               void_handler h) {
  register_op(next_id(), std::make_unique<request_op>(kind, std::move(req), expect, std::move(resp),
                                                      std::move(h)));
}

void client_impl::send_push(uint64_t correlation_id, codec::body kind,
                            const google::protobuf::MessageLite& msg) {
  if (!connected()) return;
  reserve_more(conn_->out, msg.ByteSizeLong() + 32);
  codec::append_frame(conn_->out, correlation_id, kind, msg);
  schedule_write();
}

void client_impl::write_op(uint64_t id, pending_op& op) {
  op.write(conn_->out, id);
  op.sent_epoch = conn_->epoch;
  schedule_write();
}

// The write starts in a posted task so that everything produced in this turn goes out
// in one write; at most one write is in flight per connection.
void client_impl::schedule_write() {
  if (!connected()) return;
  if (conn_->write_posted || conn_->write_in_flight || conn_->out.empty()) return;
  conn_->write_posted = true;
  asio::post(ex_, [self = shared_from_this(), c = conn_] {
    c->write_posted = false;
    self->start_write(c);
  });
}

void client_impl::start_write(const std::shared_ptr<connection>& c) {
  if (c->dead || c->write_in_flight || c->out.empty()) return;
  c->writing.swap(c->out);
  c->out.clear();
  c->write_in_flight = true;
  c->last_tx = clock::now();
  c->stream->write(asio::buffer(c->writing),
                   [self = shared_from_this(), c](const boost::system::error_code& ec, size_t) {
                     c->write_in_flight = false;
                     c->writing.clear();
                     if (ec) {
                       if (c == self->conn_)
                         self->drop_connection(make_error(errc::disconnected, ec.message()));
                       return;
                     }
                     self->start_write(c);
                   });
}

void client_impl::drop_connection(const error& why) {
  if (!conn_ || conn_->dead) return;
  conn_->dead = true;
  conn_->reason = why;
  conn_->stream->close();
  conn_->heartbeat.cancel();
}

// After a reconnect: every request not yet written to this connection goes out in issue
// order (publish frames unchanged, so the broker dedups them).
void client_impl::resend_ops() {
  std::vector<std::unique_ptr<pending_op>> too_large;
  for (auto it = ops_.begin(); it != ops_.end();) {
    pending_op& op = *it->second;
    size_t bytes = op.frame_bytes();
    if (bytes > max_frame_bytes_ + codec::frame_header_bytes) {
      too_large.push_back(std::move(it->second));
      it = ops_.erase(it);
      continue;
    }
    if (op.sent_epoch != conn_->epoch) write_op(it->first, op);
    ++it;
  }
  for (auto& op : too_large)
    op->on_failure(*this, make_error(errc::message_too_large,
                                     "frame exceeds the max_frame_bytes of the new connection"));
}

// After a lost connection: requests written to it fail, except publishes (resent later).
void client_impl::fail_sent_ops() {
  std::vector<std::unique_ptr<pending_op>> failed;
  for (auto it = ops_.begin(); it != ops_.end();) {
    if (it->second->sent_epoch != 0 && !it->second->resend()) {
      failed.push_back(std::move(it->second));
      it = ops_.erase(it);
    } else {
      it->second->sent_epoch = 0;
      ++it;
    }
  }
  auto e = make_error(errc::disconnected, "connection to the broker lost");
  for (auto& op : failed)
    op->on_failure(*this, e);
}

void client_impl::fail_all_ops(const error& e) {
  auto ops = std::move(ops_);
  ops_.clear();
  for (auto& [id, op] : ops)
    op->on_failure(*this, e);
}

// One timer for all requests, armed for the earliest deadline. Requests are issued in
// deadline order, so it fires about once per request_timeout in steady state.
void client_impl::arm_sweep(clock::time_point at) {
  if (sweep_armed_ || closed_) return;
  sweep_armed_ = true;
  sweep_timer_.expires_at(at);
  sweep_timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    self->sweep_armed_ = false;
    if (ec || self->closed_) return;
    self->sweep();
  });
}

// Fails requests past their deadline. While the broker is flow-blocked it holds
// publishes on purpose (they are slow, not lost): those wait for FLOW_UNBLOCKED.
void client_impl::sweep() {
  auto now = clock::now();
  auto next = clock::time_point::max();
  std::vector<std::unique_ptr<pending_op>> expired;
  for (auto it = ops_.begin(); it != ops_.end();) {
    pending_op& op = *it->second;
    if (flow_blocked_ && op.resend()) {
      ++it;
    } else if (op.deadline <= now) {
      expired.push_back(std::move(it->second));
      it = ops_.erase(it);
    } else {
      next = std::min(next, op.deadline);
      ++it;
    }
  }
  if (next != clock::time_point::max()) arm_sweep(next);
  auto e = make_error(errc::timeout, "no response within request_timeout (" +
                                         std::to_string(opts_.request_timeout.count()) + " ms)");
  for (auto& op : expired)
    op->on_failure(*this, e);
}

// Publishes held during a flow block get a full request_timeout from the unblock.
void client_impl::on_flow(bool blocked) {
  flow_blocked_ = blocked;
  if (blocked) return;
  auto deadline = clock::now() + opts_.request_timeout;
  for (auto& [id, op] : ops_)
    if (op->resend()) op->deadline = std::max(op->deadline, deadline);
  if (!ops_.empty()) arm_sweep(ops_.begin()->second->deadline);
}

void client_impl::notice(std::string_view kind, const error& e) {
  if (opts_.on_notice) {
    opts_.on_notice(kind, e);
    return;
  }
  if (kind == "FLOW_BLOCKED" || kind == "FLOW_UNBLOCKED" || kind == "CONSUMER_CANCELLED")
    log_warning("broker notice " + std::string(kind) + ": " + e.to_string());
}

}  // namespace ferry::client::detail
