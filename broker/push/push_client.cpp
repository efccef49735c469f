#include "broker/push/push_client.h"

#include <algorithm>
#include <charconv>
#include <chrono>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "support/tls_client.h"

namespace ferry::broker {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

namespace {

// What an endpoint's error answer may tell (the rest is cut).
constexpr size_t max_answer_bytes = 64 * 1024;
constexpr size_t max_error_excerpt = 200;

// One connection: TCP, or TLS over TCP for an https endpoint.
struct connection {
  connection(asio::io_context& ioc, asio::ssl::context* tls) {
    if (tls != nullptr) {
      secure = std::make_unique<beast::ssl_stream<beast::tcp_stream>>(ioc, *tls);
    } else {
      plain = std::make_unique<beast::tcp_stream>(ioc);
    }
  }
  beast::tcp_stream& stream() { return secure ? beast::get_lowest_layer(*secure) : *plain; }
  // Runs `f` with the stream HTTP is read from and written to.
  template <typename F>
  void io(F&& f) {
    if (secure) {
      f(*secure);
    } else {
      f(*plain);
    }
  }
  std::unique_ptr<beast::tcp_stream> plain;
  std::unique_ptr<beast::ssl_stream<beast::tcp_stream>> secure;
  beast::flat_buffer buffer;
};

int64_t retry_after_ms(std::string_view v) {
  int64_t seconds = -1;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), seconds);
  if (ec != std::errc() || end != v.data() + v.size() || seconds < 0) return -1;
  return std::min<int64_t>(seconds, 86'400) * 1000;  // a day at most: no overflow
}

}  // namespace

struct push_client::impl : std::enable_shared_from_this<impl> {
  impl(asio::io_context& c, push_settings s, asio::ssl::context* t)
      : ioc(c), settings(std::move(s)), tls(settings.tls ? t : nullptr), resolver(c) {}

  // One request's way: a connection (an idle one, or a new one), the write, the answer.
  struct call {
    std::shared_ptr<http::request<http::string_body>> req;
    done_fn done;
    std::chrono::steady_clock::time_point started;
    bool retried = false;
  };

  void post(request r, done_fn done) {
    auto req =
        std::make_shared<http::request<http::string_body>>(http::verb::post, settings.target, 11);
    req->set(http::field::host, settings.port == (settings.tls ? "443" : "80")
                                    ? settings.host
                                    : settings.host + ":" + settings.port);
    req->set(http::field::user_agent, "ferryd");
    for (const auto& [k, v] : settings.headers)
      req->set(k, v);
    for (auto& [k, v] : r.headers)
      req->set(k, v);
    req->body() = std::move(r.body);
    req->keep_alive(true);
    req->prepare_payload();
    start(call{std::move(req), std::move(done), std::chrono::steady_clock::now()});
  }

  void start(call c) {
    if (closed) return;
    // A retry after a pooled connection turned out closed goes on a new one: the others
    // in the pool are likely closed too.
    if (!idle.empty() && !c.retried) {
      auto conn = std::move(idle.back());
      idle.pop_back();
      return send(std::move(conn), std::move(c), true);
    }
    auto conn = std::make_shared<connection>(ioc, tls);
    std::erase_if(opened, [](const std::weak_ptr<connection>& w) { return w.expired(); });
    opened.push_back(conn);
    conn->stream().expires_after(std::chrono::milliseconds(settings.timeout_ms));
    resolver.async_resolve(settings.host, settings.port,
                           [self = shared_from_this(), conn, c = std::move(c)](
                               beast::error_code ec, tcp::resolver::results_type found) mutable {
                             if (self->closed) return;
                             if (ec)
                               return self->fail(std::move(c), "resolving " + self->settings.host +
                                                                   ": " + ec.message());
                             conn->stream().async_connect(found, [self, conn, c = std::move(c)](
                                                                     beast::error_code ec2,
                                                                     const tcp::endpoint&) mutable {
                               if (self->closed) return;
                               if (ec2)
                                 return self->fail(std::move(c), self->describe(ec2, "connecting"));
                               // A request is written whole: waiting to send more only delays it.
                               beast::error_code ignored;
                               conn->stream().socket().set_option(tcp::no_delay(true), ignored);
                               self->handshake(std::move(conn), std::move(c));
                             });
                           });
  }

  // https: the TLS handshake, the server's name sent (SNI) and its certificate checked
  // against it, under the same deadline.
  void handshake(std::shared_ptr<connection> conn, call c) {
    if (!conn->secure) return send(std::move(conn), std::move(c), false);
    auto& s = *conn->secure;
    tls_client::expect_server(s, settings.host);
    s.async_handshake(
        asio::ssl::stream_base::client,
        [self = shared_from_this(), conn, c = std::move(c)](beast::error_code ec) mutable {
          if (self->closed) return;
          if (ec) return self->fail(std::move(c), self->describe(ec, "TLS handshake with"));
          self->send(std::move(conn), std::move(c), false);
        });
  }

  void send(std::shared_ptr<connection> conn, call c, bool reused) {
    conn->stream().expires_after(std::chrono::milliseconds(settings.timeout_ms) -
                                 std::chrono::duration_cast<std::chrono::milliseconds>(
                                     std::chrono::steady_clock::now() - c.started));
    auto req = c.req;
    auto done = [self = shared_from_this(), conn, c = std::move(c), reused](beast::error_code ec,
                                                                            size_t) mutable {
      if (self->closed) return;
      if (ec) return self->broken(std::move(c), reused, ec, "sending");
      self->receive(std::move(conn), std::move(c), reused);
    };
    conn->io([&](auto& stream) { http::async_write(stream, *req, std::move(done)); });
  }

  void receive(std::shared_ptr<connection> conn, call c, bool reused) {
    auto parser = std::make_shared<http::response_parser<http::string_body>>();
    parser->body_limit(max_answer_bytes);
    auto done = [self = shared_from_this(), conn, parser, c = std::move(c), reused](
                    beast::error_code ec, size_t) mutable {
      if (self->closed) return;
      // A 2xx with a body past the limit is still a 2xx; the connection cannot be reused.
      const bool too_long = ec == http::error::body_limit && parser->is_header_done();
      if (ec && !too_long) return self->broken(std::move(c), reused, ec, "reading the answer");
      auto& res = parser->get();
      result r;
      r.status = res.result_int();
      r.latency_us = self->elapsed_us(c);
      r.retry_after_ms = retry_after_ms(res[http::field::retry_after]);
      if (r.status / 100 != 2) {
        r.error = "HTTP " + std::to_string(r.status);
        if (!res.body().empty()) r.error += ": " + res.body().substr(0, max_error_excerpt);
      }
      // An interim answer (1xx) is not the final one, which would follow on the same
      // connection: it is a failure, and the connection is not used again.
      if (res.keep_alive() && !too_long && r.status >= 200) {
        conn->stream().expires_never();
        self->idle.push_back(std::move(conn));
      } else {
        beast::error_code ignored;
        conn->stream().socket().shutdown(tcp::socket::shutdown_both, ignored);
      }
      c.done(std::move(r));
    };
    conn->io(
        [&](auto& stream) { http::async_read(stream, conn->buffer, *parser, std::move(done)); });
  }

  // A reused connection that the server had closed is tried once more on a new one.
  void broken(call c, bool reused, beast::error_code ec, const char* doing) {
    const bool closed_by_peer = ec == http::error::end_of_stream || ec == asio::error::eof ||
                                ec == asio::error::connection_reset ||
                                ec == asio::error::broken_pipe ||
                                ec == asio::ssl::error::stream_truncated;  // TLS, no close_notify
    if (reused && closed_by_peer && !c.retried) {
      c.retried = true;
      return start(std::move(c));
    }
    fail(std::move(c), describe(ec, doing));
  }

  std::string describe(beast::error_code ec, const char* doing) const {
    if (ec == beast::error::timeout)
      return std::string("no answer within ") + std::to_string(settings.timeout_ms) + " ms (" +
             doing + ")";
    return std::string(doing) + " " + settings.host + ":" + settings.port + ": " + ec.message();
  }

  void fail(call c, std::string why) {
    result r;
    r.error = std::move(why);
    r.latency_us = elapsed_us(c);
    c.done(std::move(r));
  }

  static int64_t elapsed_us(const call& c) {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() -
                                                                 c.started)
        .count();
  }

  asio::io_context& ioc;
  push_settings settings;
  asio::ssl::context* tls;  // https endpoints; null for http
  tcp::resolver resolver;
  std::vector<std::shared_ptr<connection>> idle;
  std::vector<std::weak_ptr<connection>> opened;  // each connection once, for close()
  bool closed = false;
};

push_client::push_client(asio::io_context& ioc, push_settings settings, asio::ssl::context* tls)
    : impl_(std::make_shared<impl>(ioc, std::move(settings), tls)) {}

push_client::~push_client() {
  close();
}

void push_client::post(request r, done_fn done) {
  impl_->post(std::move(r), std::move(done));
}

void push_client::close() {
  impl_->closed = true;
  impl_->resolver.cancel();
  impl_->idle.clear();
  for (auto& w : impl_->opened)
    if (auto c = w.lock()) {
      beast::error_code ignored;
      c->stream().socket().close(ignored);
    }
  impl_->opened.clear();
}

}  // namespace ferry::broker
