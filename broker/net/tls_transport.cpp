#include "broker/net/tls_transport.h"

#include <optional>

#include <boost/asio/append.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/asio/write.hpp>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include "broker/net/tcp_transport.h"

namespace ferry::broker {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
using asio::ip::tcp;

namespace {

// The common name of a verified peer certificate's subject, or "".
std::string verified_identity(SSL* ssl) {
  if (SSL_get_verify_result(ssl) != X509_V_OK) return {};
  X509* cert = SSL_get1_peer_certificate(ssl);
  if (cert == nullptr) return {};
  std::string cn;
  X509_NAME* subject = X509_get_subject_name(cert);
  int at = X509_NAME_get_index_by_NID(subject, NID_commonName, -1);
  if (at >= 0) {
    ASN1_STRING* data = X509_NAME_ENTRY_get_data(X509_NAME_get_entry(subject, at));
    unsigned char* utf8 = nullptr;
    int n = ASN1_STRING_to_UTF8(&utf8, data);
    if (n > 0) cn.assign(reinterpret_cast<char*>(utf8), static_cast<size_t>(n));
    OPENSSL_free(utf8);
  }
  X509_free(cert);
  return cn;
}

class tls_transport final : public transport {
 public:
  tls_transport(tcp::socket socket, std::shared_ptr<ssl::context> ctx)
      : ctx_(std::move(ctx)),
        stream_(std::move(socket), *ctx_),
        peer_(prepare_accepted(stream_.next_layer())) {}

  // transport
  asio::any_io_executor executor() override { return stream_.get_executor(); }
  const std::string& peer() const override { return peer_; }
  const std::string& peer_identity() const override { return identity_; }
  bool secure() const override { return true; }

  void read_some(asio::mutable_buffer into, read_done done) override {
    if (state_ == state::ready) return stream_.async_read_some(into, std::move(done));
    if (state_ == state::failed) return fail(std::move(done));
    pending_read_.emplace(into, std::move(done));
    handshake();
  }

  void write(asio::const_buffer from, write_done done) override {
    if (state_ == state::ready) return asio::async_write(stream_, from, std::move(done));
    if (state_ == state::failed) return fail(std::move(done));
    pending_write_.emplace(from, std::move(done));
    handshake();
  }

  void cancel() override {
    boost::system::error_code ec;
    stream_.next_layer().cancel(ec);
  }

  void close() override {
    boost::system::error_code ec;
    auto& sock = stream_.next_layer();
    sock.shutdown(tcp::socket::shutdown_both, ec);
    sock.close(ec);
  }

 private:
  enum class state { fresh, handshaking, ready, failed };
  template <typename Handler>
  using pending = std::optional<std::pair<asio::const_buffer, Handler>>;

  // Starts the handshake once; what waits for it runs when it ends. A pending operation
  // holds its connection, and so this transport, until then.
  void handshake() {
    if (state_ != state::fresh) return;
    state_ = state::handshaking;
    stream_.async_handshake(ssl::stream_base::server, [this](boost::system::error_code ec) {
      if (ec) {
        state_ = state::failed;
        error_ = ec;
      } else {
        state_ = state::ready;
        identity_ = verified_identity(stream_.native_handle());
      }
      auto r = std::move(pending_read_);
      auto w = std::move(pending_write_);
      pending_read_.reset();
      pending_write_.reset();
      if (w) write(w->first, std::move(w->second));
      if (r)
        read_some(asio::mutable_buffer(const_cast<void*>(r->first.data()), r->first.size()),
                  std::move(r->second));
    });
  }

  template <typename Handler>
  void fail(Handler done) {
    asio::post(stream_.get_executor(), asio::append(std::move(done), error_, size_t{0}));
  }

  std::shared_ptr<ssl::context> ctx_;  // outlives the stream that uses it
  ssl::stream<tcp::socket> stream_;
  std::string peer_;
  std::string identity_;
  state state_ = state::fresh;
  boost::system::error_code error_;
  pending<read_done> pending_read_;
  pending<write_done> pending_write_;
};

}  // namespace

std::unique_ptr<transport> make_tls_transport(tcp::socket socket,
                                              std::shared_ptr<ssl::context> ctx) {
  return std::make_unique<tls_transport>(std::move(socket), std::move(ctx));
}

std::unique_ptr<transport> make_transport(tcp::socket socket, const tls_source& tls) {
  if (auto ctx = tls ? tls() : nullptr)
    return make_tls_transport(std::move(socket), std::move(ctx));
  return std::make_unique<tcp_transport>(std::move(socket));
}

}  // namespace ferry::broker
