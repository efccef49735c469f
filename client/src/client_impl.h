// client_impl: the state behind ferry::client::client.
//
// Owns the connection to the broker (reconnected by run(), connection.cpp), the table of
// requests waiting for their response (pending_op), and the services built on it:
// publisher (publish batching, log-topic routing, confirms, back-pressure, resend),
// subscriber (consumers, deliveries, settles, resubscribe), log_reader (log-topic readers
// and consumer groups) and requester (request/reply over a temporary inbox).
//
// Executor: everything here runs on the client's executor only; no locks.
// Lifecycle: made by client's constructor; connect() starts run(), a coroutine that holds
// a shared_ptr to the impl until close(). close() fails every pending handler with
// errc::disconnected; the client's destructor calls it.
#pragma once

#include <algorithm>
#include <chrono>
#include <map>
#include <memory>
#include <random>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>

#include "client/src/completion.h"
#include "client/src/log_reader.h"
#include "client/src/publisher.h"
#include "client/src/requester.h"
#include "client/src/subscriber.h"
#include "ferry/client/client.h"

namespace ferry::client::detail {

namespace asio = boost::asio;
using clock = std::chrono::steady_clock;

// One TCP connection attempt and, after its handshake, one "epoch" of the client.
// Shared by the coroutines and write handlers that use it; `dead` once it failed.
struct connection {
  connection(asio::any_io_executor ex, uint64_t e) : socket(ex), heartbeat(ex), epoch(e) {}

  asio::ip::tcp::socket socket;
  asio::steady_timer heartbeat;
  uint64_t epoch;
  // Limits from HelloOk; before it, a bound for reading the handshake answer.
  uint32_t max_frame_bytes = 1 << 20;
  uint32_t max_message_bytes = 0;
  uint32_t heartbeat_ms = 0;
  // Frames produced since the last write started, and the write in flight.
  std::vector<uint8_t> out;
  std::vector<uint8_t> writing;
  bool write_posted = false;
  bool write_in_flight = false;
  bool dead = false;
  bool timed_out = false;  // the connect watchdog fired
  error reason;            // why it died
  clock::time_point last_rx, last_tx;
  // Read buffer: bytes [rstart, rend) are received and not yet consumed.
  std::vector<uint8_t> rbuf;
  size_t rstart = 0, rend = 0;
};

// A request waiting for its response, keyed by correlation id in client_impl::ops_.
class pending_op {
 public:
  virtual ~pending_op() = default;
  // Appends the request frame, with correlation id `id`, to `out`.
  virtual void write(std::vector<uint8_t>& out, uint64_t id) = 0;
  // The response arrived: its typed OK body or an Error.
  virtual void on_response(client_impl& c, const codec::frame_view& f) = 0;
  // Failed without a response: timeout, disconnected, or the client closed.
  virtual void on_failure(client_impl& c, const error& e) = 0;
  // Publishes survive a lost connection and are resent (deduplicated by the broker);
  // every other request that was sent fails with errc::disconnected.
  virtual bool resend() const { return false; }
  // Bytes of the frame when known up front (checked against a new max_frame_bytes).
  virtual size_t frame_bytes() const { return 0; }

  uint64_t sent_epoch = 0;  // connection it was written to; 0 = waiting for a connection
  clock::time_point deadline;
};

class client_impl : public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(asio::any_io_executor ex, client_options opts);
  ~client_impl();

  const asio::any_io_executor& executor() const { return ex_; }
  const client_options& options() const { return opts_; }
  connection_state state() const { return state_; }
  bool closed() const { return closed_; }
  bool connected() const { return conn_ != nullptr && connected_; }
  // The current connection's epoch (0 while disconnected).
  uint64_t epoch() const { return connected() ? conn_->epoch : 0; }
  // Limits of the current or, while disconnected, the last connection (0 = unknown).
  uint32_t max_frame_bytes() const { return max_frame_bytes_; }
  uint32_t max_message_bytes() const { return max_message_bytes_; }
  const std::string& producer_id() const { return producer_id_; }
  std::string random_hex(size_t chars);
  // When the current connection last started a write (keepalives).
  clock::time_point last_write() const { return conn_ ? conn_->last_tx : clock::time_point{}; }

  publisher& pub() { return publisher_; }
  subscriber& subs() { return subscriber_; }
  log_reader& logs() { return log_reader_; }
  requester& req() { return requester_; }

  // ---- lifecycle (connection.cpp) ----
  void connect(void_handler h);
  void close();

  // ---- requests (client_impl.cpp) ----
  uint64_t next_id() { return ++last_id_; }
  // Takes ownership of a request: writes it now when connected, else at the reconnect;
  // fails it with errc::timeout after request_timeout.
  void register_op(uint64_t id, std::unique_ptr<pending_op> op);
  // A request whose body is a generated message; *resp is filled from a response of
  // kind `expect`; `h` gets the outcome (broker Error frames become ferry::error).
  void send_request(codec::body kind, std::shared_ptr<const google::protobuf::MessageLite> req,
                    codec::body expect, std::shared_ptr<google::protobuf::MessageLite> resp,
                    void_handler h);
  // A frame that gets no response (Credit, Pong); dropped while disconnected.
  void send_push(uint64_t correlation_id, codec::body kind,
                 const google::protobuf::MessageLite& msg);
  // Frames are appended to the current connection's buffer, written at the end of the turn.
  void schedule_write();
  // Drops the current connection (protocol violation, CLOSING notice...); run() reconnects.
  void drop_connection(const error& why);
  void notice(std::string_view kind, const error& e);

 private:
  // connection.cpp
  static asio::awaitable<void> run(std::shared_ptr<client_impl> self);
  asio::awaitable<error> connect_once(std::shared_ptr<connection> conn);
  asio::awaitable<error> handshake(std::shared_ptr<connection> conn);
  asio::awaitable<error> read_loop(std::shared_ptr<connection> conn);
  asio::awaitable<error> read_frame(connection& conn, std::string_view& frame);
  asio::awaitable<void> backoff(int attempt);
  static void start_heartbeat(std::shared_ptr<client_impl> self, std::shared_ptr<connection> c);
  void on_connected(std::shared_ptr<connection> conn);
  void on_disconnected(const error& why);
  void on_first_connect_failed(const error& e);
  void set_state(connection_state s, const error& e);

  // frames.cpp
  void handle_frame(std::string_view frame);
  void handle_push(const codec::frame_view& f);
  void handle_notice(std::string_view body);

  // client_impl.cpp
  void start_write(const std::shared_ptr<connection>& conn);
  void write_op(uint64_t id, pending_op& op);
  void resend_ops();
  void fail_sent_ops();
  void fail_all_ops(const error& e);
  void arm_sweep(clock::time_point at);
  void sweep();
  void on_flow(bool blocked);
  void on_closing_notice(const error& e);

  asio::any_io_executor ex_;
  client_options opts_;
  std::mt19937_64 rng_;
  std::string producer_id_;
  connection_state state_ = connection_state::disconnected;
  bool closed_ = false;
  bool running_ = false;  // run() is alive
  bool connected_ = false;
  std::shared_ptr<connection> conn_;  // the connection being set up or in use
  uint64_t last_epoch_ = 0;
  uint64_t last_id_ = 0;
  uint32_t max_frame_bytes_ = 0;
  uint32_t max_message_bytes_ = 0;
  void_handler connect_handler_;
  std::map<uint64_t, std::unique_ptr<pending_op>> ops_;  // by correlation id = issue order
  asio::steady_timer sweep_timer_;
  bool sweep_armed_ = false;
  bool flow_blocked_ = false;  // the broker holds publishes (Notice FLOW_BLOCKED)
  asio::steady_timer backoff_timer_;
  publisher publisher_;
  subscriber subscriber_;
  log_reader log_reader_;
  requester requester_;
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
