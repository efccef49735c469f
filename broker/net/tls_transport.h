// tls_transport: a transport over TLS (OpenSSL through Asio's ssl::stream) on an accepted
// TCP socket. The server's handshake starts with the first read or write and both wait
// for it, so the connection's handshake deadline covers it: a client that never finishes
// it is cut off like one that never sends Hello. After it, peer_identity() names a
// verified client certificate's subject. Loop only, like every transport.
#pragma once

#include <memory>

#include <boost/asio/ip/tcp.hpp>

#include "broker/net/tls_context.h"
#include "broker/net/transport.h"

namespace ferry::broker {

std::unique_ptr<transport> make_tls_transport(boost::asio::ip::tcp::socket socket,
                                              std::shared_ptr<boost::asio::ssl::context> ctx);

// The transport of an accepted socket: TLS with the context `tls` gives, else plain TCP.
std::unique_ptr<transport> make_transport(boost::asio::ip::tcp::socket socket,
                                          const tls_source& tls);

}  // namespace ferry::broker
