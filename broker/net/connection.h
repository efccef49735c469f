// connection: one client's byte stream, framed. Reads length-prefixed frames and hands
// each to its handler; writes what the handler appended to out(), at most one write in
// flight.
//
// Owns the transport (transport.h: TCP today), the read buffer (4 KiB at first, doubled by reads
// that fill it up to 256 KiB, grown to fit one larger frame, never beyond max_frame_bytes) and two
// output buffers (one being written, one being filled). Back-pressure: reading pauses while the
// unsent output is above a soft limit or the handler asked for a pause; a write that takes longer
// than write_timeout, or unsent output above max_outbound_bytes, closes the connection as a slow
// consumer.
//
// Lifecycle: made by the server for a transport the listener accepted, start(handler),
// then runs until the peer closes,
// an error, close() or close_after_flush(). The handler's on_close() is called exactly
// once, after which no other handler call is made. Broker loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "broker/net/connection_limits.h"
#include "broker/net/net_probe.h"
#include "broker/net/transport.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

class connection_handler {
 public:
  // One complete frame (without its length prefix), valid during the call.
  virtual void on_frame(std::string_view frame) = 0;
  // The frames of one read were handled: a point to flush batched output.
  virtual void on_input_drained() = 0;
  // The peer broke framing (frame too large): the connection sends this error and closes.
  virtual void on_framing_error(errc code, const std::string& message) = 0;
  // A write completed: unsent_bytes() went down (a point to resume paused deliveries).
  virtual void on_output_written() = 0;
  virtual void on_close() = 0;

 protected:
  ~connection_handler() = default;
};

class connection : public std::enable_shared_from_this<connection> {
 public:
  // Counts its frames, bytes and a slow-consumer close in `probe` (which outlives it).
  connection(std::unique_ptr<transport> stream, const connection_limits& limits, uint64_t id,
             net_probe& probe);
  ~connection();

  uint64_t id() const { return id_; }
  const connection_limits& limits() const { return limits_; }
  const std::string& peer() const { return stream_->peer(); }
  // A verified TLS client certificate's common name ("" without one).
  const std::string& peer_identity() const { return stream_->peer_identity(); }

  void start(connection_handler& handler);
  // Cancels the handshake deadline armed by start().
  void handshake_done();

  // Append whole frames here, then flush().
  std::vector<uint8_t>& out() { return out_; }
  void flush();
  size_t unsent_bytes() const { return out_.size() + writing_.size(); }

  // Stop / resume handling frames and reading the socket (frames already read wait).
  void pause_reading();
  void resume_reading();
  // Handles and reads nothing for `d` (a quota's throttle), whatever else pauses it.
  void throttle_for(std::chrono::milliseconds d);
  // A lower limit on the frames this connection's client sends (a principal's quota), from
  // now on; what the broker sends it keeps limits().max_frame_bytes.
  void limit_inbound_frames(uint32_t max_frame_bytes) {
    max_inbound_frame_bytes_ = std::min(max_inbound_frame_bytes_, max_frame_bytes);
  }

  // Stops reading, writes what is queued (bounded by write_timeout), then closes.
  void close_after_flush();
  void close();
  bool closed() const { return closed_; }

 private:
  static boost::asio::awaitable<void> read_loop(std::shared_ptr<connection> self);
  // Handles the complete frames in the read buffer; returns whether any were handled.
  bool process_buffer();
  void make_room();
  void on_written(const boost::system::error_code& ec);
  void arm_deadline();
  void on_deadline();
  void wake_reader();
  void finish();

  std::unique_ptr<transport> stream_;
  connection_limits limits_;
  uint64_t id_;
  net_probe& probe_;
  connection_handler* handler_ = nullptr;

  std::vector<uint8_t> rbuf_;
  size_t rbegin_ = 0, rend_ = 0;
  bool grow_ = false;  // the last read filled rbuf_: double it before the next

  std::vector<uint8_t> out_, writing_;
  bool write_in_flight_ = false;
  using clock = boost::asio::steady_timer::clock_type;
  bool handshake_pending_ = false;
  clock::time_point handshake_until_;
  clock::time_point give_up_at_ = clock::time_point::max();  // after a handshake timeout
  clock::time_point write_until_;                            // while a write is in flight
  boost::asio::steady_timer deadline_;
  boost::asio::steady_timer wake_;  // the paused reader waits on it

  uint32_t max_inbound_frame_bytes_ = 0;  // limits_.max_frame_bytes, or a quota's lower one
  bool paused_ = false;
  bool throttled_ = false;  // until throttled_until_
  clock::time_point throttled_until_;
  bool closing_ = false;
  bool closed_ = false;
  bool finished_ = false;
};

}  // namespace ferry::broker
