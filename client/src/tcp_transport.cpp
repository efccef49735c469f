#include <boost/asio/as_tuple.hpp>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "client/src/transport.h"

namespace ferry::client::detail {
namespace {

namespace asio = boost::asio;
using asio::ip::tcp;
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);

class tcp_transport final : public transport {
 public:
  explicit tcp_transport(asio::any_io_executor ex) : socket_(ex) {}

  asio::awaitable<error> connect(const std::string& host, uint16_t port) override {
    std::string where = host + ":" + std::to_string(port);
    tcp::resolver resolver(socket_.get_executor());
    auto [rec, endpoints] =
        co_await resolver.async_resolve(host, std::to_string(port), use_nothrow);
    if (rec)
      co_return error{make_error_code(errc::disconnected),
                      "resolve " + where + ": " + rec.message()};
    auto [cec, ep] = co_await asio::async_connect(socket_, endpoints, use_nothrow);
    if (cec)
      co_return error{make_error_code(errc::disconnected),
                      "connect " + where + ": " + cec.message()};
    boost::system::error_code ignored;
    socket_.set_option(tcp::no_delay(true), ignored);
    co_return error{};
  }
  asio::awaitable<io_result> read_some(asio::mutable_buffer into) override {
    auto [ec, n] = co_await socket_.async_read_some(into, use_nothrow);
    co_return io_result{ec, n};
  }
  asio::awaitable<io_result> write(asio::const_buffer from) override {
    auto [ec, n] = co_await asio::async_write(socket_, from, use_nothrow);
    co_return io_result{ec, n};
  }
  void write(asio::const_buffer from, write_done done) override {
    asio::async_write(
        socket_, from,
        [done = std::move(done)](const boost::system::error_code& ec, size_t n) { done(ec, n); });
  }
  void close() override {
    boost::system::error_code ignored;
    socket_.close(ignored);
  }

 private:
  tcp::socket socket_;
};

}  // namespace

std::unique_ptr<transport> make_tcp_transport(asio::any_io_executor ex) {
  return std::make_unique<tcp_transport>(std::move(ex));
}

}  // namespace ferry::client::detail
