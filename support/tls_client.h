// tls_client: what every TLS client of ferry does the same way (libferry's tls_transport,
// the CLI's health command, the broker's push client): the OpenSSL context (TLS 1.2 or
// 1.3, the peer's certificate verified against a CA file, else the system's CAs), and the
// server's name on a stream about to handshake (sent as SNI unless it is an IP address,
// which SNI may not carry, and checked against the certificate). For .cpp files only:
// it brings in Asio's TLS headers.
#pragma once

#include <string>

#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/host_name_verification.hpp>
#include <boost/system/error_code.hpp>
#include <openssl/ssl.h>

namespace ferry::tls_client {

// Sets up `ctx` (made as ssl::context::tls_client); the error is the CA file's.
inline boost::system::error_code setup(boost::asio::ssl::context& ctx, const std::string& ca_file) {
  namespace ssl = boost::asio::ssl;
  boost::system::error_code ec;
  ctx.set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                      ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                      ssl::context::no_compression,
                  ec);
  SSL_CTX_set_min_proto_version(ctx.native_handle(), TLS1_2_VERSION);
  ctx.set_verify_mode(ssl::verify_peer, ec);
  if (ca_file.empty()) {
    ctx.set_default_verify_paths(ec);
  } else {
    ctx.load_verify_file(ca_file, ec);
  }
  return ec;
}

// `stream` (an Asio or Beast TLS stream) will talk to `name`.
template <typename Stream>
void expect_server(Stream& stream, const std::string& name, bool verify_name = true) {
  boost::system::error_code not_an_address;
  boost::asio::ip::make_address(name, not_an_address);
  if (not_an_address) SSL_set_tlsext_host_name(stream.native_handle(), name.c_str());
  if (verify_name) stream.set_verify_callback(boost::asio::ssl::host_name_verification(name));
}

}  // namespace ferry::tls_client
