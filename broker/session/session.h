// session: the protocol state of one client connection.
//
// Owns the consumers the client opened (and their ephemeral subscriptions), the
// deliveries waiting to be written (batched per consumer, one Deliver frame per flush),
// and the publish frames held back while the broker is over its memory high-water mark.
// Decodes each frame's envelope and hands the body to a handler (handlers/); handlers
// answer through respond()/respond_error().
//
// Lifecycle: created by the server for an accepted connection; lives until the
// connection closes (on_close), when its consumers are detached (their deliveries
// requeued), its ephemeral subscriptions and temporary topics deleted. Broker loop only.
#pragma once

#include <cstdint>
#include <deque>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "broker/net/connection.h"
#include "broker/topics/consumer.h"
#include "proto/codec/frame_codec.h"

namespace google::protobuf {
class MessageLite;
}

namespace ferry::broker {

class server_context;

class session final : public connection_handler,
                      public delivery_sink,
                      public std::enable_shared_from_this<session> {
 public:
  session(server_context& ctx, std::shared_ptr<connection> conn);
  ~session();

  void start();
  uint64_t id() const { return conn_->id(); }
  server_context& ctx() { return ctx_; }
  connection& conn() { return *conn_; }

  // ---- answering requests (handlers) ----
  void respond(uint64_t correlation_id, codec::body kind, const google::protobuf::MessageLite& msg);
  void respond_error(uint64_t correlation_id, errc code, std::string_view message);
  void respond_error(uint64_t correlation_id, const ferry::error& err);
  void notice(int kind, errc code, std::string_view message, uint64_t consumer_id = 0);
  // Sends the error and closes the connection (for peer-caused protocol violations).
  void fail(uint64_t correlation_id, errc code, std::string_view message);

  // ---- consumers (handlers) ----
  consumer& add_consumer(uint32_t prefetch, bool auto_ack);
  const int64_t* activity() const { return &last_activity_ms_; }
  consumer* find_consumer(uint64_t id);
  // Detaches and forgets a consumer (deleting its subscription if ephemeral). Deliveries
  // batched but unwritten are requeued, except that an orderly Unsubscribe
  // (write_pending) writes those of an auto_ack consumer: they are already settled.
  void remove_consumer(uint64_t id, bool write_pending = false);
  void detach_all();

  // ---- flow control ----
  // The memory high-water state changed (server broadcast).
  void on_flow_change(bool blocked);
  // Handles a Publish now, or holds it back while publishing is blocked.
  void publish_or_defer(uint64_t correlation_id, std::string_view body);

  // Handles held-back publishes while memory is under the mark; registers with the
  // context again if some remain.
  void drain_deferred();

  // Writes batched deliveries and queued output (server calls this at flush points).
  void flush();
  bool dirty() const { return dirty_; }
  void mark_dirty();

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

  bool handshaken() const { return handshaken_; }
  void set_handshaken(std::string client_id);
  const std::string& client_id() const { return client_id_; }

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

  server_context& ctx_;
  std::shared_ptr<connection> conn_;
  bool handshaken_ = false;
  int64_t last_activity_ms_ = 0;  // steady; consumer groups read it for session timeouts
  std::string client_id_;
  bool dirty_ = false;
  bool closed_ = false;

  uint64_t next_consumer_id_ = 1;
  std::map<uint64_t, std::unique_ptr<consumer>> consumers_;
  std::vector<consumer*> dirty_consumers_;

  std::vector<size_t> delivery_sizes_;  // scratch of write_deliveries()
  // Bytes of messages batched in outboxes; with the connection's unsent output they close
  // the consumers' output gate at limits.pause_outbound_bytes, and it opens again under half
  // of that, once writes went out: a consumer that reads is never cut off for its backlog.
  size_t outbox_bytes_ = 0;
  bool output_gate_closed_ = false;

  std::deque<deferred_publish> deferred_;
  size_t deferred_bytes_ = 0;
};

}  // namespace ferry::broker
