// transport: the byte stream under a connection of either listener (the wire protocol's
// connection, the HTTP side's through transport_stream): plain TCP (tcp_transport) or TLS
// (tls_transport); a WebSocket stream can implement the same interface later.
//
// One reader and one writer at a time (connection guarantees it); every call on the
// executor the transport was made for.
#pragma once

#include <cstddef>
#include <functional>
#include <string>
#include <utility>

#include <boost/asio/any_completion_handler.hpp>
#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

namespace ferry::broker {

class transport {
 public:
  // Move-only, so a coroutine's own handler fits: an idle connection waiting in a read
  // keeps a handler, not a second coroutine frame.
  using read_done = boost::asio::any_completion_handler<void(boost::system::error_code, size_t)>;
  using write_done = boost::asio::any_completion_handler<void(boost::system::error_code, size_t)>;

  virtual ~transport() = default;

  virtual boost::asio::any_io_executor executor() = 0;
  // The peer, as logs name it ("127.0.0.1:51234").
  virtual const std::string& peer() const = 0;
  // Reads at least one byte into `into`, then `done` with the count, or an error (eof
  // when the peer closed). async_read_some() below takes any completion token.
  virtual void read_some(boost::asio::mutable_buffer into, read_done done) = 0;
  // Writes all of `from` (which must stay valid until `done`), then calls `done`.
  virtual void write(boost::asio::const_buffer from, write_done done) = 0;
  // Cancels the reads and writes under way (they complete with operation_aborted) and
  // keeps the stream open: the HTTP side answers 408 after a read that timed out.
  virtual void cancel() = 0;
  // Cancels what is under way and closes the stream; reads and writes then fail.
  virtual void close() = 0;
  // Whether the stream is TLS.
  virtual bool secure() const { return false; }
  // Who the peer's verified TLS client certificate names (its subject's common name);
  // empty without TLS or without a certificate. Known once the first read completed.
  virtual const std::string& peer_identity() const {
    static const std::string none;
    return none;
  }
};

// write with a completion token.
template <typename Token>
auto async_write(transport& t, boost::asio::const_buffer from, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
      [](auto handler, transport* stream, boost::asio::const_buffer buf) {
        stream->write(buf, transport::write_done(std::move(handler)));
      },
      token, &t, from);
}

// read_some with a completion token (`co_await async_read_some(t, buf, use_awaitable)`).
template <typename Token>
auto async_read_some(transport& t, boost::asio::mutable_buffer into, Token&& token) {
  return boost::asio::async_initiate<Token, void(boost::system::error_code, size_t)>(
      [](auto handler, transport* stream, boost::asio::mutable_buffer buf) {
        stream->read_some(buf, transport::read_done(std::move(handler)));
      },
      token, &t, into);
}

}  // namespace ferry::broker
