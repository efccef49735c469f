// rabbitmq_amqp: one rabbitmq-c connection (AMQP 0-9-1) with one channel, for the RabbitMQ
// driver (rabbitmq_driver.cpp).
//
// Owns the connection state; closes it (channel.close, connection.close) on destruction.
// rabbitmq-c connections are not thread-safe: one thread uses an amqp_link at a time.
// Errors come back as text ("queue.declare: 406 PRECONDITION_FAILED - ..."), empty = ok.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <string_view>

#include <amqp.h>
#include <amqp_framing.h>
#include <amqp_tcp_socket.h>
#include <sys/time.h>

namespace ferry::bench::rabbitmq {

inline amqp_bytes_t bytes(std::string_view s) {
  return {s.size(), const_cast<char*>(s.data())};
}

inline timeval to_timeval(std::chrono::microseconds d) {
  if (d.count() < 0) d = std::chrono::microseconds(0);
  return {static_cast<time_t>(d.count() / 1'000'000),
          static_cast<suseconds_t>(d.count() % 1'000'000)};
}

// What went wrong in an RPC reply, or empty when it is a normal reply.
inline std::string reply_error(const amqp_rpc_reply_t& r) {
  switch (r.reply_type) {
    case AMQP_RESPONSE_NORMAL: return {};
    case AMQP_RESPONSE_NONE: return "no reply";
    case AMQP_RESPONSE_LIBRARY_EXCEPTION: return amqp_error_string2(r.library_error);
    case AMQP_RESPONSE_SERVER_EXCEPTION: break;
  }
  auto text = [](uint16_t code, const amqp_bytes_t& t) {
    return std::to_string(code) + " " + std::string(static_cast<const char*>(t.bytes), t.len);
  };
  if (r.reply.id == AMQP_CONNECTION_CLOSE_METHOD) {
    const auto* c = static_cast<const amqp_connection_close_t*>(r.reply.decoded);
    return "connection closed by the server: " + text(c->reply_code, c->reply_text);
  }
  if (r.reply.id == AMQP_CHANNEL_CLOSE_METHOD) {
    const auto* c = static_cast<const amqp_channel_close_t*>(r.reply.decoded);
    return "channel closed by the server: " + text(c->reply_code, c->reply_text);
  }
  return "unexpected method " + std::to_string(r.reply.id);
}

// A server-sent channel.close or connection.close frame as text; empty for other frames.
inline std::string close_frame_error(const amqp_frame_t& f) {
  if (f.frame_type != AMQP_FRAME_METHOD) return {};
  amqp_rpc_reply_t r{};
  r.reply_type = AMQP_RESPONSE_SERVER_EXCEPTION;
  r.reply = f.payload.method;
  if (r.reply.id != AMQP_CONNECTION_CLOSE_METHOD && r.reply.id != AMQP_CHANNEL_CLOSE_METHOD)
    return {};
  return reply_error(r);
}

class amqp_link {
 public:
  static constexpr amqp_channel_t channel = 1;

  amqp_link() = default;
  ~amqp_link() { close(); }
  amqp_link(const amqp_link&) = delete;
  amqp_link& operator=(const amqp_link&) = delete;

  // Connects, logs in as guest (heartbeats off: nothing here is idle long enough to need
  // them, and idle connections must not be closed for missing them) and, when `open_channel`,
  // opens channel 1. `timeout` bounds the TCP connect and every RPC.
  std::string open(const std::string& host, uint16_t port, std::chrono::milliseconds timeout,
                   bool open_channel = true) {
    conn_ = amqp_new_connection();
    if (conn_ == nullptr) return "amqp_new_connection failed";
    amqp_socket_t* s = amqp_tcp_socket_new(conn_);
    if (s == nullptr) return "amqp_tcp_socket_new failed";
    timeval tv = to_timeval(timeout);
    int rc = amqp_socket_open_noblock(s, host.c_str(), port, &tv);
    if (rc != AMQP_STATUS_OK)
      return "connect to " + host + ":" + std::to_string(port) + ": " + amqp_error_string2(rc);
    amqp_set_rpc_timeout(conn_, &tv);
    auto login = amqp_login(conn_, "/", 0, AMQP_DEFAULT_FRAME_SIZE, 0, AMQP_SASL_METHOD_PLAIN,
                            "guest", "guest");
    if (auto e = reply_error(login); !e.empty()) return "login: " + e;
    logged_in_ = true;
    if (!open_channel) return {};
    amqp_channel_open(conn_, channel);
    if (auto e = check("channel.open"); !e.empty()) return e;
    channel_open_ = true;
    return {};
  }

  // The reply of the last synchronous method, as text prefixed with `what`; empty = ok.
  std::string check(const char* what) {
    auto e = reply_error(amqp_get_rpc_reply(conn_));
    if (e.empty()) return e;
    // A channel or connection the server closed cannot be closed again politely.
    channel_open_ = false;
    return std::string(what) + ": " + e;
  }

  // Best effort, and bounded by the RPC timeout.
  void close() {
    if (conn_ == nullptr) return;
    if (channel_open_) amqp_channel_close(conn_, channel, AMQP_REPLY_SUCCESS);
    if (logged_in_) amqp_connection_close(conn_, AMQP_REPLY_SUCCESS);
    amqp_destroy_connection(conn_);
    conn_ = nullptr;
    channel_open_ = logged_in_ = false;
  }

  amqp_connection_state_t get() const { return conn_; }

 private:
  amqp_connection_state_t conn_ = nullptr;
  bool logged_in_ = false, channel_open_ = false;
};

// A one-entry argument table ({"x-queue-type": "quorum"}); `key` and `value` must outlive it.
class one_arg {
 public:
  one_arg() = default;
  one_arg(const char* key, const char* value) {
    entry_.key = amqp_cstring_bytes(key);
    entry_.value.kind = AMQP_FIELD_KIND_UTF8;
    entry_.value.value.bytes = amqp_cstring_bytes(value);
    used_ = true;
  }
  amqp_table_t table() { return used_ ? amqp_table_t{1, &entry_} : amqp_empty_table; }

 private:
  amqp_table_entry_t entry_{};
  bool used_ = false;
};

}  // namespace ferry::bench::rabbitmq
