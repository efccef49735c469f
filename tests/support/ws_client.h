// ws_client: a small blocking WebSocket client (Boost.Beast) for integration tests of
// ferryd's GET /v1/ws. Reads wait at most a timeout; a read that timed out stays pending,
// and the next read takes its message. While nobody reads, nothing is read: pings go
// unanswered and the broker's output backs up (what a stuck client does).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace ferry::testing {

class ws_client {
 public:
  // Upgrades GET `target` on 127.0.0.1:`port`; `headers` go with the upgrade request.
  ws_client(uint16_t port, std::string target = "/v1/ws",
            std::vector<std::pair<std::string, std::string>> headers = {});
  ~ws_client();
  ws_client(const ws_client&) = delete;
  ws_client& operator=(const ws_client&) = delete;

  // "" when the upgrade succeeded; else what the broker answered ("401 {...}").
  const std::string& refused() const { return refused_; }

  void send(const std::string& text);  // a text message
  void send_binary(const std::string& data);
  // A JSON request with its id set; returns the id.
  uint64_t request(boost::json::object op);

  struct message {
    std::string data;
    bool text = true;
    boost::json::value json() const;  // throws unless it is JSON
  };
  // The next message within `timeout`; nullopt on timeout, or once the connection is
  // closed (then closed() is true and close_code() says how).
  std::optional<message> read(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next JSON message answering request `id` (deliveries and notices that come first
  // are kept for next_delivery()).
  boost::json::object answer(uint64_t id,
                             std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // The next JSON deliver event (one message may hold several deliveries), or nullopt.
  std::optional<boost::json::object> next_deliver(
      std::chrono::milliseconds timeout = std::chrono::seconds(5));

  bool closed() const { return closed_; }
  int close_code() const { return close_code_; }
  void close();  // the close handshake
  void drop();   // the socket closed, no handshake (a client that vanished)

  struct impl;

 private:
  std::unique_ptr<impl> impl_;
  std::string refused_;
  bool closed_ = false;
  int close_code_ = 0;
  uint64_t next_id_ = 0;
  std::vector<boost::json::object> kept_;
};

}  // namespace ferry::testing
