// transport_stream: a transport seen as an Asio AsyncStream (async_read_some,
// async_write_some), so Beast's HTTP reads and writes run over either kind of transport,
// plain or TLS, without a second copy of the HTTP connection code. Loop only.
#pragma once

#include <vector>

#include <boost/asio/buffer.hpp>

#include "broker/net/transport.h"

namespace ferry::broker {

class transport_stream {
 public:
  using executor_type = boost::asio::any_io_executor;

  explicit transport_stream(transport& t) : t_(t) {}

  executor_type get_executor() { return t_.executor(); }
  // Closes the transport (a WebSocket's teardown, or Beast's timeout).
  void close() { t_.close(); }

  // Reads into the first non-empty buffer (a read may always return less).
  template <typename MutableBuffers, typename Token>
  auto async_read_some(const MutableBuffers& buffers, Token&& token) {
    return ferry::broker::async_read_some(t_, first(buffers, boost::asio::mutable_buffer()),
                                          std::forward<Token>(token));
  }

  // Writes all of the buffers in one write: Beast hands a response over as a sequence
  // (status line, header fields, body), and one write per piece cost a send(2) each and
  // held HTTP at a tenth of what it serves. Several pieces are gathered into `staging_`
  // (one write is in flight at a time), a single one goes as it is.
  template <typename ConstBuffers, typename Token>
  auto async_write_some(const ConstBuffers& buffers, Token&& token) {
    size_t pieces = 0, total = 0;
    for (auto it = boost::asio::buffer_sequence_begin(buffers);
         it != boost::asio::buffer_sequence_end(buffers); ++it) {
      const boost::asio::const_buffer b(*it);
      pieces += b.size() > 0 ? 1 : 0;
      total += b.size();
    }
    if (pieces <= 1)
      return ferry::broker::async_write(t_, first(buffers, boost::asio::const_buffer()),
                                        std::forward<Token>(token));
    staging_.resize(total);
    boost::asio::buffer_copy(boost::asio::buffer(staging_), buffers);
    return ferry::broker::async_write(t_, boost::asio::buffer(staging_),
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
  std::vector<char> staging_;
};

}  // namespace ferry::broker
