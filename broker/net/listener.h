// listener: the accept loop of the wire protocol. Each accepted socket becomes a
// connection and a session, unless limits.max_connections is reached (then the client
// gets a RESOURCE_EXHAUSTED error frame and is closed).
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "broker/net/connection.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

class server_context;

class listener {
 public:
  listener(boost::asio::any_io_executor ex, server_context& ctx, connection_limits limits);

  // Binds "HOST:PORT" (IPv6 as "[::1]:PORT"); port 0 picks a free port.
  ferry::error bind(const std::string& address);
  // "127.0.0.1:40213", the address actually bound.
  std::string local_address() const;
  void start();
  void stop();

 private:
  static boost::asio::awaitable<void> accept_loop(listener* self);
  void refuse(boost::asio::ip::tcp::socket socket);

  boost::asio::ip::tcp::acceptor acceptor_;
  server_context& ctx_;
  connection_limits limits_;
};

}  // namespace ferry::broker
