// raw_client: a blocking socket speaking frames by hand, for tests that must send what
// libferry never would (garbage, truncated or oversized frames, wrong versions) or
// misbehave (never read).
#pragma once

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "ferry/v1/frame.pb.h"

namespace ferry::testing {

class raw_client {
 public:
  raw_client(const std::string& host, uint16_t port);
  ~raw_client();

  void send_bytes(std::string_view bytes);
  void send_frame(const v1::Frame& f);
  // Hello + HelloOk; fails the test (throws) if the broker does not answer HelloOk.
  v1::HelloOk handshake(uint32_t version = 1);
  // Hello with SCRAM-SHA-256 as `user`: AuthChallenge, AuthResponse, then the frame that
  // ended the handshake (HelloOk, whose server signature is checked, or an Error).
  v1::Frame login(const std::string& user, const std::string& password);
  // Hello with a bearer token: HelloOk or an Error.
  v1::Frame login_token(const std::string& token);
  // The next frame, or nullopt on timeout or when the broker closed the connection.
  std::optional<v1::Frame> read_frame(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Whether the broker closed the connection (EOF) within `timeout`, reading and
  // discarding anything it sent first.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Sends a request and waits for the frame answering it (skipping pushes).
  v1::Frame request(v1::Frame f, std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Shrinks the socket's receive buffer (set before the broker sends much).
  void set_receive_buffer(int bytes);

 private:
  int fd_ = -1;
  std::string rbuf_;
  uint64_t next_correlation_ = 1000;
};

}  // namespace ferry::testing
