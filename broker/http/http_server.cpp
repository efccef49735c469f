#include "broker/http/http_server.h"

#include <optional>
#include <unordered_map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/websocket/rfc6455.hpp>

#include "broker/core/clock.h"
#include "broker/core/log.h"
#include "broker/http/http_errors.h"
#include "broker/http/http_upgrade.h"
#include "broker/http/router.h"
#include "broker/net/acceptor.h"
#include "broker/net/tls_transport.h"
#include "broker/net/transport_stream.h"

namespace ferry::broker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

namespace {
class http_connection;
}

struct http_server::impl : std::enable_shared_from_this<http_server::impl> {
  impl(asio::io_context& ioc, const http_settings& s, const router& r, loop_clock& n,
       std::function<void()> f, tls_source t)
      : acceptor(ioc), settings(s), routes(r), now(n), flush(std::move(f)), tls(std::move(t)) {}

  void accept();

  tcp::acceptor acceptor;
  const http_settings& settings;
  const router& routes;
  loop_clock& now;
  std::function<void()> flush;
  tls_source tls;
  http_probe probe;
  uint64_t next_id = 0;
  std::unordered_map<uint64_t, std::weak_ptr<http_connection>> open;
};

namespace {

std::chrono::milliseconds ms(uint64_t n) {
  return std::chrono::milliseconds(static_cast<int64_t>(n));
}

// One HTTP connection: wait for a request (idle timeout), read it whole (request
// timeout, size limits), route it, write the answer, again. Loop only.
class http_connection : public std::enable_shared_from_this<http_connection> {
 public:
  http_connection(std::unique_ptr<transport> stream, std::shared_ptr<http_server::impl> owner,
                  uint64_t id)
      : stream_(std::move(stream)),
        io_(*stream_),
        deadline_(stream_->executor()),
        owner_(std::move(owner)),
        id_(id) {}

  void start(bool refuse) {
    if (refuse) {
      auto r = error_response(errc::resource_exhausted,
                              "the broker serves its maximum number of HTTP connections "
                              "(http.max_connections)");
      r.status = 503;
      respond(std::move(r), false);
      return;
    }
    wait_for_request();
  }

  void close() {
    deadline_.cancel();
    if (stream_) stream_->close();
  }

  ~http_connection() { owner_->open.erase(id_); }

 private:
  // Whatever is under way (a read, a write) is cancelled when the deadline passes; the
  // read then answers 408, a write closes.
  void expires_after(uint64_t limit_ms) {
    timed_out_ = false;
    deadline_.expires_after(ms(limit_ms));
    // A wait that had already fired when a later phase began must not cancel that one.
    deadline_.async_wait([weak = weak_from_this(), phase = ++phase_](boost::system::error_code ec) {
      auto self = weak.lock();
      if (ec || !self || phase != self->phase_) return;
      self->timed_out_ = true;
      self->stream_->cancel();
    });
  }

  // The idle timeout runs until the first byte of the next request.
  void wait_for_request() {
    if (buffer_.size() > 0) return read_request();
    expires_after(owner_->settings.idle_timeout_ms);
    io_.async_read_some(buffer_.prepare(4096),
                        [self = shared_from_this()](beast::error_code ec, size_t n) {
                          if (ec) return self->close();
                          self->buffer_.commit(n);
                          self->read_request();
                        });
  }

  void read_request() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(owner_->settings.max_header_bytes));
    parser_->body_limit(owner_->settings.max_body_bytes);
    expires_after(owner_->settings.request_timeout_ms);
    http::async_read_header(io_, buffer_, *parser_,
                            [self = shared_from_this()](beast::error_code ec, size_t) {
                              if (ec) return self->refuse_request(ec);
                              self->read_body();
                            });
  }

  // A client that waits for "100 Continue" before it sends its body (curl does, for
  // bodies over 1 KiB) is told to go on; the body limit was checked on the headers.
  void read_body() {
    auto read_rest = [self = shared_from_this()] {
      http::async_read(self->io_, self->buffer_, *self->parser_,
                       [self](beast::error_code ec, size_t) {
                         if (ec) return self->refuse_request(ec);
                         self->handle();
                       });
    };
    const auto expect = parser_->get()[http::field::expect];
    if (!beast::iequals(expect, "100-continue")) return read_rest();
    static const std::string go_on = "HTTP/1.1 100 Continue\r\n\r\n";
    asio::async_write(io_, asio::buffer(go_on),
                      [self = shared_from_this(), read_rest](beast::error_code ec, size_t) {
                        if (ec) return self->close();
                        read_rest();
                      });
  }

  void refuse_request(beast::error_code ec) {
    ++owner_->probe.bad_requests;
    if (timed_out_) {
      auto r = error_response(errc::timeout,
                              "the request did not arrive within "
                              "http.request_timeout_ms");
      r.status = 408;
      return respond(std::move(r), false);
    }
    if (ec == http::error::end_of_stream || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted)
      return close();
    if (ec == http::error::body_limit)
      return respond(error_response(errc::frame_too_large,
                                    "the request body is larger than http.max_body_bytes (" +
                                        std::to_string(owner_->settings.max_body_bytes) + ")"),
                     false);
    if (ec == http::error::header_limit) {
      auto r = error_response(errc::frame_too_large,
                              "the request headers are larger than http.max_header_bytes (" +
                                  std::to_string(owner_->settings.max_header_bytes) + ")");
      r.status = 431;
      return respond(std::move(r), false);
    }
    respond(error_response(errc::malformed_frame, "malformed HTTP request: " + ec.message()),
            false);
  }

  void handle() {
    ++owner_->probe.requests;
    ++phase_;
    deadline_.cancel();  // the handler may wait for storage
    auto& msg = parser_->get();
    version_ = msg.version();
    const bool keep_alive = msg.keep_alive();
    http_request req;
    req.method = std::string(msg.method_string());
    for (const auto& f : msg)
      req.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
    req.body = std::move(msg.body());
    req.tls_identity = stream_->peer_identity();
    req.websocket = beast::websocket::is_upgrade(msg);
    // The reply holds the connection until it is answered (a catalog write may come first).
    http_reply reply = [self = shared_from_this(), keep_alive](http_response r) {
      self->respond(std::move(r), keep_alive);
    };
    // A request is an event of its own: the clock first, the flush point after.
    owner_->now.stamp();
    if (auto err = parse_target(msg.target(), req)) {
      reply(error_response(err));
    } else {
      owner_->routes.dispatch(req, std::move(reply));
    }
    owner_->flush();
  }

  void respond(http_response r, bool keep_alive) {
    if (r.upgrade) return hand_over(r.upgrade);
    auto res = std::make_shared<http::response<http::string_body>>(
        static_cast<http::status>(r.status), version_ ? version_ : 11);
    res->set(http::field::server, "ferryd");
    // HTTPS: browsers (the dashboard's) are told to keep to it.
    if (stream_->secure()) res->set(http::field::strict_transport_security, "max-age=31536000");
    res->set(http::field::content_type, r.content_type);
    for (auto& [k, v] : r.headers)
      res->set(k, v);
    res->keep_alive(keep_alive);
    res->body() = std::move(r.body);
    res->prepare_payload();
    expires_after(owner_->settings.request_timeout_ms);
    http::async_write(io_, *res,
                      [self = shared_from_this(), res, keep_alive](beast::error_code ec, size_t) {
                        if (ec || !keep_alive) return self->close();
                        self->wait_for_request();
                      });
  }

  // The route took the connection (a WebSocket): it gets the stream and the request, and
  // this connection ends here.
  void hand_over(const std::function<void(std::unique_ptr<http_upgrade>)>& taker) {
    ++phase_;
    deadline_.cancel();
    auto u = std::make_unique<http_upgrade>();
    u->request = parser_->release();
    u->stream = std::move(stream_);
    taker(std::move(u));
  }

  std::unique_ptr<transport> stream_;
  transport_stream io_;  // stream_ as Beast reads and writes it
  asio::steady_timer deadline_;
  bool timed_out_ = false;
  uint64_t phase_ = 0;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<http_server::impl> owner_;
  uint64_t id_;
  unsigned version_ = 11;
};

}  // namespace

void http_server::impl::accept() {
  acceptor.async_accept([self = shared_from_this()](boost::system::error_code ec,
                                                    tcp::socket socket) {
    if (!self->acceptor.is_open()) return;
    if (ec) {
      log::net().warn("http accept: {}", ec.message());
    } else {
      const bool refuse = self->open.size() >= self->settings.max_connections;
      ++(refuse ? self->probe.connections_refused : self->probe.connections_accepted);
      const uint64_t id = ++self->next_id;
      auto conn =
          std::make_shared<http_connection>(make_transport(std::move(socket), self->tls), self, id);
      self->open.emplace(id, conn);
      conn->start(refuse);
    }
    self->accept();
  });
}

http_server::http_server(asio::io_context& ioc, const http_settings& settings, const router& routes,
                         loop_clock& now, std::function<void()> flush, tls_source tls)
    : impl_(std::make_shared<impl>(ioc, settings, routes, now, std::move(flush), std::move(tls))) {}

http_server::~http_server() {
  stop();
}

ferry::error http_server::bind(const std::string& address) {
  return bind_acceptor(impl_->acceptor, address);
}

std::string http_server::local_address() const {
  return bound_address(impl_->acceptor);
}

void http_server::start() {
  impl_->accept();
}

void http_server::stop() {
  boost::system::error_code ec;
  impl_->acceptor.close(ec);
  auto open = impl_->open;  // closing may erase
  for (auto& [id, weak] : open)
    if (auto c = weak.lock()) c->close();
}

size_t http_server::connections() const {
  return impl_->open.size();
}

const http_probe& http_server::probe() const {
  return impl_->probe;
}

}  // namespace ferry::broker
