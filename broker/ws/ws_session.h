// ws_session: the state of one WebSocket client (GET /v1/ws, docs/PROTOCOL.md
// "WebSocket"). It owns the client's consumers (a consumer_table, the service layer's, as
// the binary protocol's session does), reads each request (ws_codec), authorizes it as the
// upgrade's principal with the same targets the binary protocol checks
// (security/request_access.h), and calls the same services its handlers call. Deliveries
// are batched per consumer until the flush point writes them, one message per consumer;
// the output gate stops them while the connection's unsent output is over the pause mark,
// and a client whose output passes the limit is cut off (its deliveries go back to the
// queue). No Beast: the connection (ws_server.cpp) is a ws_output. Loop only.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "broker/http/http_settings.h"
#include "broker/queues/subscription.h"
#include "broker/security/authorizer.h"
#include "broker/security/principal.h"
#include "broker/services/consumer_table.h"
#include "broker/session/session_hub.h"
#include "broker/topics/consumer.h"
#include "broker/ws/ws_codec.h"

namespace ferry::broker {

class consume_service;
class group_service;
class loop_clock;
class quotas;

// The connection as a session writes to it.
class ws_output {
 public:
  // Queues one message (text: JSON; else binary) after those queued before.
  virtual void send(std::string message, bool text) = 0;
  // Bytes queued and not yet written.
  virtual size_t unsent_bytes() const = 0;
  // Writes what is queued, then closes with a WebSocket close code and reason.
  virtual void close(uint16_t code, std::string reason) = 0;
  // Closes at once, dropping what is queued (a client that does not read).
  virtual void cut(std::string reason) = 0;

 protected:
  ~ws_output() = default;
};

// What every WebSocket session works with; all of it outlives them.
struct ws_environment {
  consume_service& consume;
  group_service& groups;
  authorizer& authz;
  quotas& limits;  // the principal's connection quota counts WebSockets too
  session_hub& hub;
  loop_clock& clock;
  const http_settings& settings;
};

class ws_session final : public delivery_sink,
                         public hub_member,
                         public std::enable_shared_from_this<ws_session> {
 public:
  // `client_id` names the client's consumer-group members.
  ws_session(const ws_environment& env, ws_output& out, uint64_t id, principal who,
             std::string client_id, ws::format f);
  ~ws_session();

  // A message from the client: one request.
  void on_message(std::string_view data, bool text);
  // Some queued output was written.
  void on_output_written();
  // The client showed life without a request (a pong): group sessions see it.
  void touched();
  // The connection closed: the consumers are closed, their deliveries requeued.
  void on_close();

  // hub_member
  uint64_t id() const override { return id_; }
  bool handshaken() const override { return true; }
  void flush() override;
  void drain_deferred() override {}
  void on_flow_change(bool, std::string_view) override {}
  void begin_drain() override;
  void shut_down() override;
  void close_consumers() override;

  // delivery_sink
  void deliver(consumer& c, const message_ref& m, const delivery_meta& meta) override;
  void consumer_cancelled(consumer& c, errc code, std::string_view why) override;
  void assignment_changed(consumer& c, const v1::Assignment& a) override;
  void consumer_closing(consumer& c, bool write_pending) override;

 private:
  void handle(const v1::WsRequest& req);
  void settle(uint64_t request_id, uint64_t consumer_id, const subscription::settle_request& s,
              const google::protobuf::RepeatedField<uint64_t>& ids);
  // The answer to request `id`: the error, or `event` (its oneof set).
  void answer(uint64_t id, const ferry::error& err, v1::WsEvent& event);
  void send(std::string message);
  void write_deliveries(consumer& c);
  void clear_outbox(consumer& c);
  void account_output(size_t added);
  // What a delivery of `m` adds to the output, about: JSON events carry base64 or escaped
  // data and their attributes.
  size_t output_estimate(const message_ref& m) const;
  void mark_dirty();
  size_t pause_bytes() const;

  const ws_environment& env_;
  ws_output& out_;
  uint64_t id_;
  principal who_;
  std::string client_id_;
  ws::format format_;
  int64_t last_activity_ms_ = 0;
  bool closed_ = false;
  bool cut_off_ = false;  // over the outbound limit: nothing more is sent
  bool dirty_ = false;
  std::vector<consumer*> dirty_consumers_;
  size_t outbox_bytes_ = 0;  // as the binary protocol's session counts them
  bool output_gate_closed_ = false;
  // Last: its destructor closes consumers, which reach back into the members above.
  consumer_table consumers_;
};

}  // namespace ferry::broker
