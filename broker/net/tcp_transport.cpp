#include "broker/net/tcp_transport.h"

#include <boost/asio/write.hpp>

namespace ferry::broker {

namespace asio = boost::asio;
using asio::ip::tcp;

std::string prepare_accepted(tcp::socket& socket) {
  boost::system::error_code ec;
  socket.set_option(tcp::no_delay(true), ec);
  auto ep = socket.remote_endpoint(ec);
  return ec ? std::string("?") : ep.address().to_string() + ":" + std::to_string(ep.port());
}

tcp_transport::tcp_transport(tcp::socket socket)
    : socket_(std::move(socket)), peer_(prepare_accepted(socket_)) {}

void tcp_transport::read_some(asio::mutable_buffer into, read_done done) {
  socket_.async_read_some(into, std::move(done));
}

void tcp_transport::write(asio::const_buffer from, write_done done) {
  asio::async_write(socket_, from, std::move(done));
}

void tcp_transport::cancel() {
  boost::system::error_code ec;
  socket_.cancel(ec);
}

void tcp_transport::close() {
  boost::system::error_code ec;
  socket_.shutdown(tcp::socket::shutdown_both, ec);
  socket_.close(ec);
}

}  // namespace ferry::broker
