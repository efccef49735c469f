// transport: the byte stream under one client connection: plain TCP (tcp_transport) or
// TLS (tls_transport); the connection code is the same for both.
// One reader and one writer at a time; every call on the client's executor.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/buffer.hpp>
#include <boost/system/error_code.hpp>

#include "ferry/client/types.h"
#include "proto/codec/errc.h"

namespace ferry::client::detail {

class transport {
 public:
  using io_result = std::pair<boost::system::error_code, size_t>;
  using write_done = std::function<void(const boost::system::error_code&, size_t)>;

  virtual ~transport() = default;
  // Resolves and connects; the error says which step failed ("resolve HOST:PORT: ...").
  virtual boost::asio::awaitable<error> connect(const std::string& host, uint16_t port) = 0;
  // At least one byte into `into`, or an error (eof when the broker closed).
  virtual boost::asio::awaitable<io_result> read_some(boost::asio::mutable_buffer into) = 0;
  // All of `from`, awaited (the handshake) or with a callback (the write path).
  virtual boost::asio::awaitable<io_result> write(boost::asio::const_buffer from) = 0;
  virtual void write(boost::asio::const_buffer from, write_done done) = 0;
  // Cancels what is under way; reads and writes then fail.
  virtual void close() = 0;
};

// A plain TCP stream (Nagle off) on `ex`.
std::unique_ptr<transport> make_tcp_transport(boost::asio::any_io_executor ex);

// A TLS stream on `ex` as `opts` says; the files are read at each connect, so an error in
// them fails the connect, naming the file.
std::unique_ptr<transport> make_tls_transport(boost::asio::any_io_executor ex,
                                              const tls_options& opts);

}  // namespace ferry::client::detail
