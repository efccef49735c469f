#include "tests/support/raw_client.h"

#include <stdexcept>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include "proto/codec/scram.h"

namespace ferry::testing {

raw_client::raw_client(const std::string& host, uint16_t port) {
  fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  ::inet_pton(AF_INET, host.c_str(), &addr.sin_addr);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0)
    throw std::runtime_error("connect to " + host + ":" + std::to_string(port) + " failed");
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
}

raw_client::~raw_client() {
  if (fd_ >= 0) ::close(fd_);
}

void raw_client::set_receive_buffer(int bytes) {
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
}

void raw_client::send_bytes(std::string_view bytes) {
  while (!bytes.empty()) {
    ssize_t n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0) return;  // the broker may have closed; the test checks that separately
    bytes.remove_prefix(static_cast<size_t>(n));
  }
}

void raw_client::send_frame(const v1::Frame& f) {
  std::string body = f.SerializeAsString();
  uint32_t n = static_cast<uint32_t>(body.size());
  char prefix[4] = {char(n >> 24), char(n >> 16), char(n >> 8), char(n)};
  send_bytes(std::string(prefix, 4) + body);
}

v1::HelloOk raw_client::handshake(uint32_t version) {
  v1::Frame f;
  f.set_correlation_id(1);
  f.mutable_hello()->set_protocol_version(version);
  f.mutable_hello()->set_client_id("raw-test");
  send_frame(f);
  auto r = read_frame();
  if (!r || !r->has_hello_ok()) throw std::runtime_error("no HelloOk");
  return r->hello_ok();
}

v1::Frame raw_client::login(const std::string& user, const std::string& password) {
  scram::client sc(user, password);
  v1::Frame f;
  f.set_correlation_id(1);
  auto* hello = f.mutable_hello();
  hello->set_protocol_version(1);
  hello->set_client_id("raw-test");
  hello->mutable_credentials()->set_mechanism(std::string(scram::mechanism));
  hello->mutable_credentials()->set_sasl(sc.first());
  send_frame(f);
  auto challenge = read_frame();
  if (!challenge) throw std::runtime_error("no answer to Hello");
  if (!challenge->has_auth_challenge()) return *challenge;
  v1::Frame next;
  next.set_correlation_id(1);
  if (auto why = sc.final(challenge->auth_challenge().sasl(),
                          *next.mutable_auth_response()->mutable_sasl());
      !why.empty())
    throw std::runtime_error("scram: " + why);
  send_frame(next);
  auto done = read_frame();
  if (!done) throw std::runtime_error("no answer to AuthResponse");
  if (done->has_hello_ok())
    if (auto why = sc.verify(done->hello_ok().sasl()); !why.empty())
      throw std::runtime_error("scram: " + why);
  return *done;
}

v1::Frame raw_client::login_token(const std::string& token) {
  v1::Frame f;
  f.set_correlation_id(1);
  auto* hello = f.mutable_hello();
  hello->set_protocol_version(1);
  hello->set_client_id("raw-test");
  hello->mutable_credentials()->set_mechanism("TOKEN");
  hello->mutable_credentials()->set_token(token);
  send_frame(f);
  auto r = read_frame();
  if (!r) throw std::runtime_error("no answer to Hello");
  return *r;
}

std::optional<v1::Frame> raw_client::read_frame(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    if (rbuf_.size() >= 4) {
      auto* p = reinterpret_cast<const uint8_t*>(rbuf_.data());
      uint32_t n = (uint32_t(p[0]) << 24) | (uint32_t(p[1]) << 16) | (uint32_t(p[2]) << 8) | p[3];
      if (rbuf_.size() >= 4 + n) {
        v1::Frame f;
        bool ok = f.ParseFromArray(rbuf_.data() + 4, static_cast<int>(n));
        rbuf_.erase(0, 4 + n);
        if (!ok) throw std::runtime_error("broker sent an unparseable frame");
        return f;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      return std::nullopt;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return std::nullopt;
    rbuf_.append(tmp, static_cast<size_t>(n));
  }
}

bool raw_client::closed_by_peer(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (true) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd_, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char tmp[65536];
    ssize_t n = ::recv(fd_, tmp, sizeof tmp, 0);
    if (n <= 0) return true;
  }
}

v1::Frame raw_client::request(v1::Frame f, std::chrono::milliseconds timeout) {
  uint64_t cid = ++next_correlation_;
  f.set_correlation_id(cid);
  send_frame(f);
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    auto r = read_frame(std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now()));
    if (!r) break;
    if (r->correlation_id() == cid) return *r;
  }
  throw std::runtime_error("no answer to request " + std::to_string(cid));
}

}  // namespace ferry::testing
