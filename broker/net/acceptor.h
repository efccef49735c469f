// acceptor: binding a TCP acceptor to "HOST:PORT" and naming what it bound, for every
// listener of the broker (the wire protocol's, the HTTP side's).
#pragma once

#include <string>

#include <boost/asio/ip/tcp.hpp>

#include "proto/codec/errc.h"

namespace ferry::broker {

// Opens, binds and listens on "HOST:PORT" (IPv6 as "[::1]:PORT"); port 0 picks a free one.
ferry::error bind_acceptor(boost::asio::ip::tcp::acceptor& acceptor, const std::string& address);

// "127.0.0.1:40213", the address actually bound ("?" when it is not open).
std::string bound_address(const boost::asio::ip::tcp::acceptor& acceptor);

}  // namespace ferry::broker
