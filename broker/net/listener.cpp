#include "broker/net/listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "broker/core/log.h"
#include "broker/net/acceptor.h"
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
  return bind_acceptor(acceptor_, address);
}

std::string listener::local_address() const {
  return bound_address(acceptor_);
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
