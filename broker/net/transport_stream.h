// transport_stream: a transport seen as an Asio AsyncStream (async_read_some,
// async_write_some), so Beast's HTTP reads and writes run over either kind of transport,
// plain or TLS, without a second copy of the HTTP connection code. Loop only.
#pragma once

#include <boost/asio/buffer.hpp>

#include "broker/net/transport.h"

namespace ferry::broker {

class transport_stream {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit transport_stream(transport& t) : t_(t) {}

  executor_type get_executor() { return t_.executor(); }

  // Reads into the first non-empty buffer (a read may always return less).
  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return ferry::broker::async_read_some(t_, first(buffers, boost::asio::mutable_buffer()),
                                          std::forward<Token>(token));
  }

  // Writes all of the first non-empty buffer (a write_some may write less than given).
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    return ferry::broker::async_write(t_, first(buffers, boost::asio::const_buffer()),
                                      std::forward<Token>(token));
  }

 private:
  template <typename Buffers, typename Buffer>
  static Buffer first(const Buffers& buffers, Buffer none) {
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      Buffer b(*it);
      if (b.size() > 0) return b;
    }
    return none;
  }

  transport& t_;
};

}  // namespace ferry::broker
