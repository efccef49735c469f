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
#include <optional>
#include <random>

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/awaitable.hpp>
#include <boost/asio/steady_timer.hpp>

#include "ferry/v1/session.pb.h"

#include "client/src/completion.h"
#include "client/src/link.h"
#include "client/src/log_reader.h"
#include "client/src/publisher.h"
#include "client/src/requester.h"
#include "client/src/subscriber.h"
#include "client/src/transport.h"
#include "ferry/client/client.h"
#include "proto/codec/scram.h"

namespace ferry::client::detail {

namespace asio = boost::asio;

// One TCP connection attempt and, after its handshake, one "epoch" of the client.
// Shared by the coroutines and write handlers that use it; `dead` once it failed.
struct connection {
  connection(asio::any_io_executor ex, const tls_options& tls, uint64_t e)
      : stream(tls.enabled ? make_tls_transport(ex, tls) : make_tcp_transport(ex)),
        heartbeat(ex),
        epoch(e) {}

  std::unique_ptr<transport> stream;
  asio::steady_timer heartbeat;
  uint64_t epoch;
  // Limits from HelloOk; before it, a bound for reading the handshake answer.
  uint32_t max_frame_bytes = 1 << 20;  // what the broker may send us
  uint32_t max_send_frame_bytes = 0;   // what we may send it (HelloOk)
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

class client_impl final : public link, public std::enable_shared_from_this<client_impl> {
 public:
  client_impl(asio::any_io_executor ex, client_options opts);
  ~client_impl();

  // link
  const asio::any_io_executor& executor() const override { return ex_; }
  const client_options& options() const override { return opts_; }
  bool closed() const override { return closed_; }
  bool connected() const override { return conn_ != nullptr && connected_; }
  uint64_t epoch() const override { return connected() ? conn_->epoch : 0; }
  uint32_t max_frame_bytes() const override { return max_frame_bytes_; }
  uint32_t max_message_bytes() const override { return max_message_bytes_; }
  const std::string& producer_id() const override { return producer_id_; }
  std::string random_hex(size_t chars) override;
  clock::time_point last_write() const override {
    return conn_ ? conn_->last_tx : clock::time_point{};
  }
  uint64_t next_id() override { return ++last_id_; }
  void register_op(uint64_t id, std::unique_ptr<pending_op> op) override;
  void send_request(codec::body kind, std::shared_ptr<const google::protobuf::MessageLite> req,
                    codec::body expect, std::shared_ptr<google::protobuf::MessageLite> resp,
                    void_handler h) override;
  void send_push(uint64_t correlation_id, codec::body kind,
                 const google::protobuf::MessageLite& msg) override;
  // Drops the current connection (protocol violation, CLOSING notice...); run() reconnects.
  void drop_connection(const error& why) override;

  connection_state state() const { return state_; }
  publisher& pub() { return publisher_; }
  subscriber& subs() { return subscriber_; }
  log_reader& logs() { return log_reader_; }
  requester& req() { return requester_; }

  // ---- lifecycle (connection.cpp) ----
  void connect(void_handler h);
  void close();

  // ---- requests (client_impl.cpp) ----
  // Frames are appended to the current connection's buffer, written at the end of the turn.
  void schedule_write();
  void notice(std::string_view kind, const error& e);

 private:
  // connection.cpp
  static asio::awaitable<void> run(std::shared_ptr<client_impl> self);
  asio::awaitable<error> connect_once(std::shared_ptr<connection> conn);
  // The broker the next connect tries: opts_.brokers[address_], else host and port.
  broker_address address() const;
  asio::awaitable<error> handshake(std::shared_ptr<connection> conn);
  v1::Hello make_hello(std::optional<scram::client>& sasl) const;
  asio::awaitable<error> send_handshake_frame(connection& conn, uint64_t id, codec::body kind,
                                              const google::protobuf::MessageLite& m);
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
  void on_deliver(std::string_view body);

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
  size_t address_ = 0;  // the entry of opts_.brokers the next connect tries
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
  std::vector<codec::delivery_view> deliver_scratch_;
};

}  // namespace ferry::client::detail
