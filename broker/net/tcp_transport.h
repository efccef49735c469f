// tcp_transport: a transport over a plain TCP socket (Nagle off).
#pragma once

#include <boost/asio/ip/tcp.hpp>

#include "broker/net/transport.h"

namespace ferry::broker {

// "127.0.0.1:51234" (or "?"), as logs name a peer; and Nagle off on `socket`.
std::string prepare_accepted(boost::asio::ip::tcp::socket& socket);

class tcp_transport final : public transport {
 public:
  explicit tcp_transport(boost::asio::ip::tcp::socket socket);

  // transport
  boost::asio::any_io_executor executor() override { return socket_.get_executor(); }
  const std::string& peer() const override { return peer_; }
  void read_some(boost::asio::mutable_buffer into, read_done done) override;
  void write(boost::asio::const_buffer from, write_done done) override;
  void cancel() override;
  void close() override;

 private:
  boost::asio::ip::tcp::socket socket_;
  std::string peer_;
};

}  // namespace ferry::broker
