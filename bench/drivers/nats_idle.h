// nats_idle: the connections-N workload on nats-server: N raw TCP connections that each
// finished the NATS handshake (CONNECT, then PING answered by PONG, so the server has set
// the client up), held open while the server's resident memory is read.
//
// Private to bench/drivers/nats_*. Called on the driver's thread only.
#pragma once

#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

#include "proto/codec/errc.h"

namespace ferry::bench::nats {

// Owns open sockets; closes them on destruction.
class idle_sockets {
 public:
  idle_sockets() = default;
  idle_sockets(const idle_sockets&) = delete;
  idle_sockets& operator=(const idle_sockets&) = delete;
  ~idle_sockets() {
    for (int fd : fds_)
      ::close(fd);
  }
  size_t size() const { return fds_.size(); }

  // Opens one connection to host:port and completes the NATS handshake on it.
  ferry::error open_one(const std::string& host, uint16_t port) {
    int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return sys_error("socket");
    fds_.push_back(fd);
    timeval tv{5, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    if (inet_pton(AF_INET, host.c_str(), &a.sin_addr) != 1)
      return {make_error_code(errc::invalid_argument), "not an IPv4 address: " + host};
    if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) return sys_error("connect");
    static constexpr char hello[] =
        "CONNECT {\"verbose\":false,\"pedantic\":false,\"name\":\"ferry-bench-idle\"}\r\nPING\r\n";
    if (::send(fd, hello, sizeof hello - 1, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof hello - 1))
      return sys_error("send CONNECT");
    // INFO {...}\r\n comes first, then PONG\r\n once CONNECT was processed.
    std::string got;
    char buf[4096];
    while (got.find("PONG\r\n") == std::string::npos) {
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) return sys_error("waiting for PONG");
      got.append(buf, static_cast<size_t>(n));
      if (got.find("-ERR") != std::string::npos)
        return {make_error_code(errc::internal), "server refused the connection: " + got};
    }
    return {};
  }

 private:
  static ferry::error sys_error(const char* what) {
    std::error_code e(errno, std::generic_category());
    return {e, std::string(what) + ": " + e.message()};
  }
  std::vector<int> fds_;
};

}  // namespace ferry::bench::nats
