// tls_transport: libferry's stream over TLS (Asio's ssl::stream on OpenSSL): TLS 1.2 or
// 1.3, the broker's certificate verified against the CA file (or the system's) and the
// server name, a client certificate when one is given.
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>

#include "client/src/tls_context.h"
#include "client/src/transport.h"
#include "support/tls_client.h"

namespace ferry::client::detail {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

class tls_transport final : public transport {
 public:
  tls_transport(asio::any_io_executor ex, tls_options opts)
      : ex_(std::move(ex)), opts_(std::move(opts)) {}

  asio::awaitable<error> connect(const std::string& host, uint16_t port) override {
    if (error e = make_tls_client_context(opts_, ctx_)) co_return e;
    stream_ = std::make_unique<ssl::stream<tcp::socket>>(ex_, *ctx_);
    std::string where = host + ":" + std::to_string(port);
    tcp::resolver resolver(ex_);
    auto [rec, endpoints] =
        co_await resolver.async_resolve(host, std::to_string(port), use_nothrow);
    if (rec) co_return tls_error("resolve " + where, rec);
    auto& sock = stream_->next_layer();
    auto [cec, ep] = co_await asio::async_connect(sock, endpoints, use_nothrow);
    if (cec) co_return tls_error("connect " + where, cec);
    boost::system::error_code ignored;
    sock.set_option(tcp::no_delay(true), ignored);
    const std::string name = opts_.server_name.empty() ? host : opts_.server_name;
    tls_client::expect_server(*stream_, name, opts_.verify_server_name);
    auto [hec] = co_await stream_->async_handshake(ssl::stream_base::client, use_nothrow);
    if (hec) co_return tls_error("TLS handshake with " + where, hec);
    co_return error{};
  }
  asio::awaitable<io_result> read_some(asio::mutable_buffer into) override {
    auto [ec, n] = co_await stream_->async_read_some(into, use_nothrow);
    co_return io_result{ec, n};
  }
  asio::awaitable<io_result> write(asio::const_buffer from) override {
    auto [ec, n] = co_await asio::async_write(*stream_, from, use_nothrow);
    co_return io_result{ec, n};
  }
  void write(asio::const_buffer from, write_done done) override {
    asio::async_write(
        *stream_, from,
        [done = std::move(done)](const boost::system::error_code& ec, size_t n) { done(ec, n); });
  }
  void close() override {
    if (!stream_) return;
    boost::system::error_code ignored;
    stream_->next_layer().close(ignored);
  }

 private:
  asio::any_io_executor ex_;
  tls_options opts_;
  std::unique_ptr<ssl::context> ctx_;  // declared first: outlives the stream
  std::unique_ptr<ssl::stream<tcp::socket>> stream_;
};

}  // namespace

std::unique_ptr<transport> make_tls_transport(asio::any_io_executor ex, const tls_options& opts) {
  return std::make_unique<tls_transport>(std::move(ex), opts);
}

}  // namespace ferry::client::detail
