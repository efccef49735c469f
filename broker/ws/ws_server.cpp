#include "broker/ws/ws_server.h"

#include <deque>
#include <unordered_map>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "broker/core/clock.h"
#include "broker/core/log.h"
#include "broker/http/http_errors.h"
#include "broker/http/http_upgrade.h"
#include "broker/http/metrics.h"
#include "broker/http/router.h"
#include "broker/net/transport_stream.h"
#include "broker/security/quotas.h"

namespace ferry::broker {

// Beast's customization points for a transport under a websocket stream: closing it
// (Beast's idle timeout) and its teardown after the close handshake.
void beast_close_socket(transport_stream& s) {
  s.close();
}
void teardown(boost::beast::role_type, transport_stream& s, boost::system::error_code& ec) {
  s.close();
  ec = {};
}
template <typename Handler>
void async_teardown(boost::beast::role_type, transport_stream& s, Handler&& done) {
  s.close();
  boost::asio::post(s.get_executor(), [done = std::forward<Handler>(done)]() mutable {
    done(boost::system::error_code());
  });
}

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;

namespace {
class ws_connection;

std::chrono::milliseconds ms(uint64_t n) {
  return std::chrono::milliseconds(static_cast<int64_t>(n));
}
}  // namespace

struct ws_server::impl {
  explicit impl(const ws_environment& e) : env(e) {}

  ws_environment env;
  ws_probe probe;
  bool stopped = false;  // the broker is stopping: no new WebSockets
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, std::weak_ptr<ws_connection>> open;
};

namespace {

// One WebSocket client: reads requests for its session, writes what the session queues
// (one write at a time, under the write deadline), closes after what is queued.
class ws_connection final : public ws_output, public std::enable_shared_from_this<ws_connection> {
 public:
  ws_connection(std::unique_ptr<http_upgrade> u, std::shared_ptr<ws_server::impl> owner,
                uint64_t id, std::shared_ptr<void> quota_lease)
      : quota_lease_(std::move(quota_lease)),
        transport_(std::move(u->stream)),
        ws_(*transport_),
        request_(std::move(u->request)),
        deadline_(transport_->executor()),
        owner_(std::move(owner)),
        id_(id) {}

  ~ws_connection() { owner_->open.erase(id_); }

  void start(principal who, std::string client_id, ws::format f) {
    const auto& s = owner_->env.settings;
    websocket::stream_base::timeout t{};
    t.handshake_timeout = ms(s.request_timeout_ms);
    t.idle_timeout = ms(s.ws_idle_timeout_ms);
    t.keep_alive_pings = true;
    ws_.set_option(t);
    ws_.set_option(websocket::stream_base::decorator(
        [](websocket::response_type& res) { res.set(beast::http::field::server, "ferryd"); }));
    ws_.read_message_max(s.ws_max_message_bytes);
    ws_.auto_fragment(false);  // one frame per message: deliveries are batched already
    // A pong (the answer to Beast's keep-alive ping) shows life, as a request does.
    ws_.control_callback([this](websocket::frame_type kind, beast::string_view) {
      if (kind == websocket::frame_type::pong && session_) session_->touched();
    });
    session_ = std::make_shared<ws_session>(owner_->env, *this, id_, std::move(who),
                                            std::move(client_id), f);
    ws_.async_accept(request_, [self = shared_from_this()](beast::error_code ec) {
      if (ec || self->finished_) return self->finish("handshake: " + ec.message());
      self->accepted_ = true;
      if (self->closing_) return self->write_next();  // stopped during the handshake
      self->read();
    });
  }

  // ws_output
  void send(std::string message, bool text) override {
    if (finished_ || closing_ || cutting_) return;
    unsent_ += message.size();
    queue_.push_back({std::move(message), text});
    if (!writing_) write_next();
  }
  size_t unsent_bytes() const override { return unsent_; }
  void close(uint16_t code, std::string reason) override {
    if (finished_ || closing_ || cutting_) return;
    closing_ = true;
    close_reason_ = websocket::close_reason(static_cast<websocket::close_code>(code), reason);
    if (!writing_ && accepted_) write_next();
  }
  // The transport closes now (nothing more goes out); the session is torn down in an
  // event of its own, never inside the call that found the client over its limit.
  void cut(std::string reason) override {
    if (finished_ || cutting_) return;
    cutting_ = true;
    ++owner_->probe.cut_off;
    transport_->close();
    asio::post(transport_->executor(), [self = shared_from_this(), why = std::move(reason)] {
      self->owner_->env.clock.stamp();
      self->finish(why);
      self->owner_->env.hub.flush();
    });
  }

  // At shutdown: consumers closed first (deliveries back to the queue), requests read from
  // now on are dropped, then the close handshake.
  void stop() {
    stopping_ = true;
    if (session_) session_->close_consumers();
    close(websocket::close_code::going_away, "the broker is shutting down");
  }

 private:
  void read() {
    ws_.async_read(buffer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec)
        return self->finish(ec == websocket::error::closed ? "closed by the client" : ec.message());
      if (self->finished_) return;
      ++self->owner_->probe.messages_in;
      auto& env = self->owner_->env;
      env.clock.stamp();  // a request is an event: the clock first, the flush point after
      const auto data = self->buffer_.cdata();
      if (!self->stopping_)
        self->session_->on_message(
            std::string_view(static_cast<const char*>(data.data()), data.size()),
            self->ws_.got_text());
      self->buffer_.consume(self->buffer_.size());
      env.hub.flush();
      if (!self->finished_) self->read();
    });
  }

  void write_next() {
    if (finished_) return;
    if (queue_.empty()) {
      if (closing_) close_now();
      return;
    }
    writing_ = true;
    arm_deadline();
    ws_.text(queue_.front().text);
    ws_.async_write(asio::buffer(queue_.front().data),
                    [self = shared_from_this()](beast::error_code ec, size_t) {
                      self->writing_ = false;
                      if (self->finished_) return;  // what it wrote is dropped with it
                      ++self->phase_;
                      self->deadline_.cancel();
                      if (ec) return self->finish("write: " + ec.message());
                      ++self->owner_->probe.messages_out;
                      self->unsent_ -= self->queue_.front().data.size();
                      self->queue_.pop_front();
                      self->session_->on_output_written();
                      self->write_next();
                    });
  }

  // A write that does not complete in time: the client stopped reading.
  void arm_deadline() {
    deadline_.expires_after(ms(owner_->env.settings.ws_write_timeout_ms));
    deadline_.async_wait([weak = weak_from_this(), phase = ++phase_](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || phase != self->phase_) return;
      self->cut("a write took longer than http.ws_write_timeout_ms");
    });
  }

  void close_now() {
    writing_ = true;  // nothing more is written
    arm_deadline();
    ws_.async_close(close_reason_, [self = shared_from_this()](beast::error_code) {
      self->finish("closed: " + std::string(self->close_reason_.reason.data(),
                                            self->close_reason_.reason.size()));
    });
  }

  // Once, however the connection ends: the session's consumers are closed (their
  // deliveries requeued) and the transport with them.
  void finish(std::string why) {
    if (finished_) return;
    finished_ = true;
    ++phase_;
    deadline_.cancel();
    log::net().debug("ws {} ({}): {}", id_, transport_->peer(), why);
    if (session_) session_->on_close();
    if (!writing_) queue_.clear();  // else the write under way still reads its buffer
    unsent_ = 0;
    transport_->close();
  }

  struct queued {
    std::string data;
    bool text;
  };

  std::shared_ptr<void> quota_lease_;  // the principal's place among its connections
  std::unique_ptr<transport> transport_;
  websocket::stream<transport_stream> ws_;
  beast::http::request<beast::http::string_body> request_;
  asio::steady_timer deadline_;
  uint64_t phase_ = 0;
  std::shared_ptr<ws_server::impl> owner_;
  uint64_t id_;
  std::shared_ptr<ws_session> session_;
  beast::flat_buffer buffer_;
  std::deque<queued> queue_;
  size_t unsent_ = 0;
  bool writing_ = false;
  bool accepted_ = false;  // the handshake's answer is written
  bool closing_ = false;
  bool stopping_ = false;
  bool cutting_ = false;
  bool finished_ = false;
  websocket::close_reason close_reason_;
};

// GET /v1/ws: refused unless it is an upgrade with a known format; past
// http.max_connections open WebSockets, 503.
void open_websocket(const std::shared_ptr<ws_server::impl>& owner, const http_request& req,
                    const http_reply& done) {
  if (!req.websocket)
    return done(error_response(errc::invalid_argument,
                               "GET /v1/ws is a WebSocket: send Upgrade: websocket"));
  auto f = ws::format::json;
  if (const auto* asked = req.query_param("format")) {
    if (*asked == "protobuf") {
      f = ws::format::protobuf;
    } else if (*asked != "json") {
      return done(error_response(errc::invalid_argument,
                                 "format: '" + *asked + "' is not json or protobuf"));
    }
  }
  if (owner->stopped)
    return done(error_response(errc::shutting_down, "the broker is shutting down"));
  if (owner->open.size() >= owner->env.settings.max_connections) {
    auto r = error_response(errc::resource_exhausted,
                            "the broker serves its maximum number of WebSockets "
                            "(http.max_connections)");
    r.status = 503;
    return done(std::move(r));
  }
  std::shared_ptr<void> lease;
  if (auto err = owner->env.limits.connect(req.who, lease))
    return done(error_response(errc::resource_exhausted, err.message));
  const uint64_t id = ++owner->next_id;
  const auto* named = req.query_param("client_id");
  std::string client_id = named != nullptr ? *named : "ws-" + std::to_string(id);
  http_response r;
  r.status = 101;
  r.upgrade = [owner, id, who = req.who, client_id = std::move(client_id), f,
               lease = std::move(lease)](std::unique_ptr<http_upgrade> u) mutable {
    auto conn = std::make_shared<ws_connection>(std::move(u), owner, id, std::move(lease));
    owner->open.emplace(id, conn);
    ++owner->probe.connections_accepted;
    conn->start(std::move(who), std::move(client_id), f);
  };
  done(std::move(r));
}

}  // namespace

ws_server::ws_server(const ws_environment& env) : impl_(std::make_shared<impl>(env)) {}

ws_server::~ws_server() {
  stop();
}

void ws_server::add_routes(router& r) {
  r.add({"GET",
         "/v1/ws",
         "WebSocket: subscribe, read logs, settle deliveries (docs/PROTOCOL.md \"WebSocket\")",
         on_broker(operation::connect),
         [owner = impl_](const http_request& req, http_reply done) {
           open_websocket(owner, req, done);
         },
         nullptr,
         nullptr,
         {"format", "client_id", "access_token"},
         101});
}

void ws_server::stop() {
  impl_->stopped = true;
  auto open = impl_->open;  // closing may erase
  for (auto& [id, weak] : open)
    if (auto c = weak.lock()) c->stop();
}

size_t ws_server::connections() const {
  return impl_->open.size();
}

const ws_probe& ws_server::probe() const {
  return impl_->probe;
}

void ws_server::add_metrics(metrics_registry& reg) const {
  reg.add([owner = impl_]() -> metrics_registry::render_fn {
    const ws_probe p = owner->probe;
    const auto open = static_cast<double>(owner->open.size());
    auto d = [](uint64_t n) { return static_cast<double>(n); };
    return [p, open, d](metric_set& s) {
      s.gauge("ferry_websocket_connections", "WebSockets (GET /v1/ws) open now.", open);
      s.counter("ferry_websocket_connections_accepted_total", "WebSockets accepted.",
                d(p.connections_accepted));
      s.counter("ferry_websocket_cut_off_total",
                "WebSockets cut off for a write timeout or too much unsent output.", d(p.cut_off));
      s.counter("ferry_websocket_messages_received_total", "WebSocket messages received.",
                d(p.messages_in));
      s.counter("ferry_websocket_messages_sent_total", "WebSocket messages sent.",
                d(p.messages_out));
    };
  });
}

}  // namespace ferry::broker
