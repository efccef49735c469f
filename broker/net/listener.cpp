#include "broker/net/listener.h"

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/asio/write.hpp>

#include "broker/core/log.h"
#include "broker/net/acceptor.h"
#include "broker/net/tls_transport.h"
#include "proto/codec/frame_codec.h"

namespace ferry::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

listener::listener(asio::any_io_executor ex, std::function<std::string()> room, accept_fn on_accept,
                   net_probe& probe, tls_source tls)
    : acceptor_(ex),
      room_(std::move(room)),
      on_accept_(std::move(on_accept)),
      probe_(probe),
      tls_(std::move(tls)) {}

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
    if (auto why = self->room_(); !why.empty()) {
      self->refuse(std::move(socket), why);
      continue;
    }
    ++self->probe_.connections_accepted;
    self->on_accept_(make_transport(std::move(socket), self->tls_));
  }
}

// Plain TCP: the error frame, then close (bounded: 5 s for a client that does not read).
// TLS: close at once: the error could only go after a TLS handshake, which is the very
// work a broker at its limits must not take on.
void listener::refuse(tcp::socket socket, const std::string& why) {
  ++probe_.connections_refused;
  log::net().warn("refusing a connection: {}", why);
  if (tls_ && tls_()) {
    boost::system::error_code ignored;
    socket.close(ignored);
    return;
  }
  struct refusal {
    std::vector<uint8_t> frame;
    std::unique_ptr<transport> stream;
    asio::steady_timer deadline;
  };
  auto r = std::make_shared<refusal>(refusal{
      {}, make_transport(std::move(socket), tls_), asio::steady_timer(acceptor_.get_executor())});
  codec::append_error(r->frame, 0, errc::resource_exhausted, why);
  r->deadline.expires_after(std::chrono::seconds(5));
  r->deadline.async_wait([r](boost::system::error_code ec) {
    if (!ec) r->stream->close();
  });
  r->stream->write(asio::buffer(r->frame), [r](boost::system::error_code, size_t) {
    r->deadline.cancel();
    r->stream->close();
  });
}

}  // namespace ferry::broker
