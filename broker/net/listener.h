// listener: the accept loop of the wire protocol. Each accepted socket becomes a
// transport (TLS with the context `tls` gives, else plain TCP) handed to `on_accept` (the server
// makes a connection and a session of it), unless `room` says why not: then the client gets a
// RESOURCE_EXHAUSTED error frame and is closed. Knows nothing of sessions. Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "broker/net/net_probe.h"
#include "broker/net/tls_context.h"
#include "broker/net/transport.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

class listener {
 public:
  using accept_fn = std::function<void(std::unique_ptr<transport>)>;

  // Counts accepted and refused connections in `probe`.
  // `room`: why no other connection may be served now, or "".
  listener(boost::asio::any_io_executor ex, std::function<std::string()> room, accept_fn on_accept,
           net_probe& probe, tls_source tls);

  // Binds "HOST:PORT" (IPv6 as "[::1]:PORT"); port 0 picks a free port.
  ferry::error bind(const std::string& address);
  // "127.0.0.1:40213", the address actually bound.
  std::string local_address() const;
  void start();
  void stop();

 private:
  static boost::asio::awaitable<void> accept_loop(listener* self);
  void refuse(boost::asio::ip::tcp::socket socket, const std::string& why);

  boost::asio::ip::tcp::acceptor acceptor_;
  std::function<std::string()> room_;
  accept_fn on_accept_;
  net_probe& probe_;
  tls_source tls_;
};

}  // namespace ferry::broker
