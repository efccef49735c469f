#include "broker/net/tls_context.h"

#include <boost/asio/ssl/context.hpp>
#include <openssl/err.h>
#include <openssl/ssl.h>

namespace ferry::broker {

namespace ssl = boost::asio::ssl;

namespace {

// Mozilla's "intermediate" TLS 1.2 list without DHE: ECDHE key exchange, AEAD ciphers only.
// TLS 1.3 suites are OpenSSL's defaults, all of which are AEAD.
constexpr const char* tls12_ciphers =
    "ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
    "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
    "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305";

ferry::error failed(const std::string& what, const boost::system::error_code& ec) {
  std::string reason = ec.message();
  if (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    reason = buf;
  }
  ERR_clear_error();
  return {make_error_code(errc::invalid_argument), what + ": " + reason};
}

}  // namespace

ferry::error make_tls_context(const tls_settings& s, std::shared_ptr<ssl::context>& out) {
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::no_compression,
                   ec);
  SSL_CTX* native = ctx->native_handle();
  SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION);
  if (SSL_CTX_set_cipher_list(native, tls12_ciphers) != 1) return failed("tls: cipher list", ec);
  // No session tickets: a ticket key lives as long as the process, which would weaken
  // forward secrecy; full handshakes are cheap at a broker's connection rates. The broker's
  // cipher order decides (AES-GCM first), except that a client preferring ChaCha20 (no AES
  // hardware) gets it.
  SSL_CTX_set_options(
      native, SSL_OP_NO_TICKET | SSL_OP_CIPHER_SERVER_PREFERENCE | SSL_OP_PRIORITIZE_CHACHA);
  // No resumption at all: no session cache, no TLS 1.3 tickets; the context id is still
  // set, as OpenSSL wants one whenever client certificates are verified.
  SSL_CTX_set_session_cache_mode(native, SSL_SESS_CACHE_OFF);
  SSL_CTX_set_num_tickets(native, 0);
  static constexpr unsigned char session_context[] = "ferryd";
  SSL_CTX_set_session_id_context(native, session_context, sizeof session_context - 1);
  ctx->use_certificate_chain_file(s.cert_file, ec);
  if (ec) return failed("tls.cert_file " + s.cert_file, ec);
  ctx->use_private_key_file(s.key_file, ssl::context::pem, ec);
  if (ec) return failed("tls.key_file " + s.key_file, ec);
  if (SSL_CTX_check_private_key(native) != 1)
    return failed("tls.key_file " + s.key_file + " does not match tls.cert_file", ec);
  if (s.client_auth != "none") {
    if (s.ca_file.empty())
      return {make_error_code(errc::invalid_argument),
              "tls.client_auth " + s.client_auth + " needs tls.ca_file"};
    ctx->load_verify_file(s.ca_file, ec);
    if (ec) return failed("tls.ca_file " + s.ca_file, ec);
    auto mode = ssl::verify_peer;
    if (s.client_auth == "required") mode |= ssl::verify_fail_if_no_peer_cert;
    ctx->set_verify_mode(mode, ec);
  }
  out = std::move(ctx);
  return {};
}

}  // namespace ferry::broker
