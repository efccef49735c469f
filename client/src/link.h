// link: what the parts of a client (publisher, subscriber, log_reader, requester) ask of
// the connection they share, and nothing more. client_impl implements it; the parts hold
// a link& and never the client itself, so they do not call back into the hub.
//
// Executor: the client's. The link outlives the parts (they are members of client_impl).
#pragma once

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "client/src/completion.h"
#include "ferry/client/client.h"

namespace google::protobuf {
class MessageLite;
}

namespace ferry::client::detail {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

class link;

// A request waiting for its response, keyed by correlation id in the client's table.
class pending_op {
 public:
  virtual ~pending_op() = default;
  // Appends the request frame, with correlation id `id`, to `out`.
  virtual void write(std::vector<uint8_t>& out, uint64_t id) = 0;
  // The response arrived: its typed OK body or an Error.
  virtual void on_response(link& c, const codec::frame_view& f) = 0;
  // Failed without a response: timeout, disconnected, or the client closed.
  virtual void on_failure(link& c, const error& e) = 0;
  // Publishes survive a lost connection and are resent (deduplicated by the broker);
  // every other request that was sent fails with errc::disconnected.
  virtual bool resend() const { return false; }
  // Bytes of the frame when known up front (checked against a new max_frame_bytes).
  virtual size_t frame_bytes() const { return 0; }

  uint64_t sent_epoch = 0;  // connection it was written to; 0 = waiting for a connection
  clock::time_point deadline;
};

class link {
 public:
  virtual const boost::asio::any_io_executor& executor() const = 0;
  virtual const client_options& options() const = 0;
  virtual bool closed() const = 0;
  virtual bool connected() const = 0;
  // The current connection's epoch (0 while disconnected).
  virtual uint64_t epoch() const = 0;
  // Limits of the current or, while disconnected, the last connection (0 = unknown).
  virtual uint32_t max_frame_bytes() const = 0;
  virtual uint32_t max_message_bytes() const = 0;
  virtual const std::string& producer_id() const = 0;
  virtual std::string random_hex(size_t chars) = 0;
  // When the current connection last started a write (keepalives).
  virtual clock::time_point last_write() const = 0;

  virtual uint64_t next_id() = 0;
  // Takes ownership of a request: writes it now when connected, else at the reconnect;
  // fails it with errc::timeout after request_timeout.
  virtual void register_op(uint64_t id, std::unique_ptr<pending_op> op) = 0;
  // A request whose body is a generated message; *resp is filled from a response of
  // kind `expect`; `h` gets the outcome (broker Error frames become ferry::error).
  virtual void send_request(codec::body kind,
                            std::shared_ptr<const google::protobuf::MessageLite> req,
                            codec::body expect, std::shared_ptr<google::protobuf::MessageLite> resp,
                            void_handler h) = 0;
  // A frame that gets no response (Credit, Pong); dropped while disconnected.
  virtual void send_push(uint64_t correlation_id, codec::body kind,
                         const google::protobuf::MessageLite& msg) = 0;
  // Drops the current connection (protocol violation); the client reconnects.
  virtual void drop_connection(const error& why) = 0;

 protected:
  ~link() = default;
};

// Makes room for `extra` more bytes, growing geometrically: the codec's append
// functions reserve exactly what they append, which is quadratic when many frames or
// messages go into one buffer.
inline void reserve_more(std::vector<uint8_t>& v, size_t extra) {
  if (v.capacity() - v.size() < extra) v.reserve(std::max(2 * v.capacity(), v.size() + extra));
}

inline error make_error(errc code, std::string message = {}) {
  return error{make_error_code(code), std::move(message)};
}
// The ferry::error carried by an Error frame body.
error error_from_body(std::string_view body);
// Logs a line to stderr, prefixed "libferry: ".
void log_warning(const std::string& line);

}  // namespace ferry::client::detail
