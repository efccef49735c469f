#include "broker/net/listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "broker/core/log.h"
#include "broker/net/tcp_transport.h"
#include "proto/codec/frame_codec.h"

namespace ferry::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

listener::listener(asio::any_io_executor ex, std::function<bool()> has_room, accept_fn on_accept,
                   net_probe& probe)
    : acceptor_(ex),
      has_room_(std::move(has_room)),
      on_accept_(std::move(on_accept)),
      probe_(probe) {}

ferry::error listener::bind(const std::string& address) {
  auto fail = [&](std::string why) {
    return ferry::error{make_error_code(errc::invalid_argument),
                        "cannot listen on '" + address + "': " + why};
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return fail("expected HOST:PORT");
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  tcp::resolver resolver(acceptor_.get_executor());
  auto results =
      resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) return fail(ec ? ec.message() : "no address");
  tcp::endpoint ep = results.begin()->endpoint();
  acceptor_.open(ep.protocol(), ec);
  if (!ec) acceptor_.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor_.bind(ep, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec.message());
  return {};
}

std::string listener::local_address() const {
  boost::system::error_code ec;
  auto ep = acceptor_.local_endpoint(ec);
  if (ec) return "?";
  auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

void listener::start() {
  asio::co_spawn(acceptor_.get_executor(), accept_loop(this), asio::detached);
}

void listener::stop() {
  boost::system::error_code ec;
  acceptor_.close(ec);
}

asio::awaitable<void> listener::accept_loop(listener* self) {
  while (self->acceptor_.is_open()) {
    auto [ec, socket] = co_await self->acceptor_.async_accept(asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (!self->acceptor_.is_open()) co_return;
      log::net().warn("accept: {}", ec.message());
      continue;
    }
    if (!self->has_room_()) {
      self->refuse(std::move(socket));
      continue;
    }
    ++self->probe_.connections_accepted;
    self->on_accept_(std::make_unique<tcp_transport>(std::move(socket)));
  }
}

void listener::refuse(tcp::socket socket) {
  ++probe_.connections_refused;
  log::net().warn("refusing a connection: limits.max_connections reached");
  auto frame = std::make_shared<std::vector<uint8_t>>();
  codec::append_error(
      *frame, 0, errc::resource_exhausted,
      "the broker serves its maximum number of connections (limits.max_connections)");
  auto sock = std::make_shared<tcp::socket>(std::move(socket));
  asio::async_write(*sock, asio::buffer(*frame), [sock, frame](boost::system::error_code, size_t) {
    boost::system::error_code ignored;
    sock->close(ignored);
  });
}

}  // namespace ferry::broker
