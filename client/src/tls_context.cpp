// The client side's TLS context, shared by libferry's tls_transport and the CLI's health
// command.
#include "client/src/tls_context.h"

#include "support/tls_client.h"

namespace ferry::client::detail {

namespace asio = boost::asio;
namespace ssl = asio::ssl;

error tls_error(const std::string& what, const boost::system::error_code& ec) {
  return error{make_error_code(errc::disconnected), what + ": " + ec.message()};
}

error make_tls_client_context(const tls_options& o, std::unique_ptr<ssl::context>& out) {
  auto ctx = std::make_unique<ssl::context>(ssl::context::tls_client);
  boost::system::error_code ec = tls_client::setup(*ctx, o.ca_file);
  if (ec) return tls_error("TLS CA file " + (o.ca_file.empty() ? "(system)" : o.ca_file), ec);
  if (!o.cert_file.empty()) {
    ctx->use_certificate_chain_file(o.cert_file, ec);
    if (ec) return tls_error("TLS certificate file " + o.cert_file, ec);
    ctx->use_private_key_file(o.key_file.empty() ? o.cert_file : o.key_file, ssl::context::pem, ec);
    if (ec) return tls_error("TLS key file " + o.key_file, ec);
  }
  out = std::move(ctx);
  return {};
}

}  // namespace ferry::client::detail
