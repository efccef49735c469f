// session: the binary protocol's state of one client connection.
//
// Owns the client's consumers (a consumer_table: the service layer's, shared by every
// front end), the deliveries waiting to be written (batched per consumer, one Deliver
// frame per flush), the output gate that stops deliveries while the connection's unsent
// output is over its pause mark, and the publish frames held back while the broker is
// over its memory high-water mark. Each frame goes to the request handler (the protocol
// pipeline); answers come back through responders (responder.h).
//
// Lifecycle: made by the server for an accepted connection and kept in the session hub;
// lives until the connection closes (on_close), when its consumers are closed (their
// deliveries requeued), its ephemeral subscriptions and temporary topics deleted. Broker
// loop only.
#pragma once

#include <cstdint>
#include <deque>
#include <memory>
#include <string>
#include <vector>

#include "broker/core/clock.h"
#include "broker/net/connection.h"
#include "broker/security/authorizer.h"
#include "broker/services/consumer_table.h"
#include "broker/session/session_hub.h"
#include "broker/topics/consumer.h"
#include "proto/codec/frame_codec.h"

namespace google::protobuf {
class MessageLite;
}

namespace ferry::broker {

class consume_service;
class request_handler;
class topic_service;

class session final : public connection_handler,
                      public delivery_sink,
                      public hub_member,
                      public std::enable_shared_from_this<session> {
 public:
  // What a session works with; all of it outlives every session.
  struct environment {
    session_hub& hub;
    request_handler& requests;
    loop_clock& clock;
    consume_service& consume;
    topic_service& topics;
  };

  // `env` outlives the session (the server owns one for all of them).
  session(const environment& env, std::shared_ptr<connection> conn);
  ~session();

  void start();
  uint64_t id() const override { return conn_->id(); }
  connection& conn() { return *conn_; }
  consumer_table& consumers() { return consumers_; }
  int64_t last_activity_ms() const { return last_activity_ms_; }

  bool handshaken() const override { return handshaken_; }
  // The handshake ended: `who` logged in. `lease` is held while the session lives (its place
  // in the principal's connection quota); `max_frame_bytes` (0: none) lowers the limit of the
  // frames the client sends.
  void set_handshaken(std::string client_id, principal who, std::shared_ptr<void> lease = {},
                      uint32_t max_frame_bytes = 0);
  const std::string& client_id() const { return client_id_; }
  // Who the handshake authenticated (anonymous until then).
  const principal& who() const { return who_; }
  // A handshake of several steps (SCRAM) between Hello and its last AuthResponse: the
  // exchange waits here with Hello's client id and correlation id.
  bool authenticating() const { return pending_auth_ != nullptr; }
  void await_auth(std::string client_id, uint64_t correlation_id,
                  std::unique_ptr<auth_exchange> next);
  std::unique_ptr<auth_exchange> take_auth() { return std::move(pending_auth_); }
  uint64_t auth_correlation_id() const { return auth_correlation_id_; }

  // ---- answering (through responders) ----
  void respond(uint64_t correlation_id, codec::body kind, const google::protobuf::MessageLite& msg);
  void respond_error(uint64_t correlation_id, errc code, std::string_view message);
  void respond_error(uint64_t correlation_id, const ferry::error& err);
  void notice(int kind, errc code, std::string_view message, uint64_t consumer_id = 0);
  // Sends the error and closes the connection (for peer-caused protocol violations).
  void fail(uint64_t correlation_id, errc code, std::string_view message);

  // ---- flow control ----
  // Whether a Publish must be held back now (the broker is blocked, or earlier ones wait).
  bool must_defer_publish() const;
  void defer_publish(uint64_t correlation_id, std::string_view body);
  void mark_dirty();

  // hub_member
  void flush() override;
  // Registers with the hub again if publishes remain held.
  void drain_deferred() override;
  void on_flow_change(bool blocked, std::string_view why) override;
  void begin_drain() override;
  void shut_down() override;
  void close_consumers() override;

  // connection_handler
  void on_frame(std::string_view frame) override;
  void on_input_drained() override;
  void on_framing_error(errc code, const std::string& message) override;
  void on_output_written() override;
  void on_close() override;

  // delivery_sink
  void deliver(consumer& c, const message_ref& m, const delivery_meta& meta) override;
  void consumer_cancelled(consumer& c, errc code, std::string_view why) override;
  void assignment_changed(consumer& c, const v1::Assignment& a) override;
  void consumer_closing(consumer& c, bool write_pending) override;

 private:
  struct deferred_publish {
    uint64_t correlation_id;
    std::string body;
  };
  void write_deliveries(consumer& c);
  // Forgets c's batched deliveries (written or dropped) in the output accounting.
  void clear_outbox(consumer& c);
  // Closes the output gate when batched plus unsent output reaches the pause mark.
  void account_output(size_t added);

  const environment& env_;
  std::shared_ptr<connection> conn_;
  bool handshaken_ = false;
  std::shared_ptr<void> quota_lease_;
  int64_t last_activity_ms_ = 0;  // steady; consumer groups read it for session timeouts
  std::string client_id_;
  principal who_;
  std::unique_ptr<auth_exchange> pending_auth_;
  uint64_t auth_correlation_id_ = 0;
  bool dirty_ = false;
  bool closed_ = false;
  bool draining_ = false;  // the broker is stopping: read nothing more

  std::vector<consumer*> dirty_consumers_;
  std::vector<size_t> delivery_sizes_;  // scratch of write_deliveries()
  // Bytes of messages batched in outboxes; with the connection's unsent output they close
  // the consumers' output gate at the connection's pause mark, and it opens again under
  // half of that once writes went out: a consumer that reads is never cut off for its
  // backlog.
  size_t outbox_bytes_ = 0;
  bool output_gate_closed_ = false;

  std::deque<deferred_publish> deferred_;
  size_t deferred_bytes_ = 0;

  // Last: its destructor closes consumers, which reach back into the members above.
  consumer_table consumers_;
};

}  // namespace ferry::broker
