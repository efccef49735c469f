// redis_idle: many idle TCP connections to Redis, for what a connection costs the server
// (the Redis drivers' connections-N workloads), and many idle streams (idle_topics).
//
// Raw sockets (Redis allocates its client state at accept): each sends one PING and waits
// for +PONG, so the server has accepted and served it, then stays silent. Opened one after
// the other (loopback: ~0.1 ms each); closed on destruction. One thread.
#pragma once

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#include "bench/driver.h"
#include "bench/drivers/redis_link.h"
#include "bench/idle_connections.h"
#include "proto/codec/errc.h"

namespace ferry::bench::redis {

using steady_clock = std::chrono::steady_clock;

inline ferry::error idle_error(const std::string& why) {
  return {make_error_code(errc::internal), "redis: " + why};
}

// Raw TCP connections that each got +PONG for a PING; closed on destruction.
class idle_sockets {
 public:
  ~idle_sockets() {
    for (int fd : fds_)
      ::close(fd);
  }

  // Opens `n` within `limit`; the error text, or empty.
  std::string open(const endpoint& at, uint32_t n, steady_clock::duration limit) {
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_port = htons(at.port);
    if (::inet_pton(AF_INET, at.host.c_str(), &addr.sin_addr) != 1)
      return "bad server address '" + at.host + "'";
    auto until = steady_clock::now() + limit;
    timeval tv{5, 0};
    for (uint32_t i = 0; i < n; ++i) {
      if (steady_clock::now() >= until)
        return std::to_string(i) + " of " + std::to_string(n) + " idle connections open in time";
      int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
      if (fd < 0) return "socket: " + std::string(std::strerror(errno));
      fds_.push_back(fd);
      ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
      ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
      auto why = [&](const std::string& e) {
        return "idle connection " + std::to_string(i + 1) + " of " + std::to_string(n) + ": " + e;
      };
      if (::connect(fd, reinterpret_cast<const sockaddr*>(&addr), sizeof addr) != 0)
        return why("connect: " + std::string(std::strerror(errno)));
      if (::send(fd, "PING\r\n", 6, MSG_NOSIGNAL) != 6) return why("send PING");
      std::string answer;
      char buf[256];
      while (answer.find("\r\n") == std::string::npos) {
        auto got = ::recv(fd, buf, sizeof buf, 0);
        if (got <= 0) return why("no answer to PING");
        answer.append(buf, static_cast<size_t>(got));
      }
      if (answer != "+PONG\r\n") return why(answer.substr(0, answer.find("\r\n")));
    }
    return {};
  }

  uint32_t opened() const { return static_cast<uint32_t>(fds_.size()); }

 private:
  std::vector<int> fds_;
};

inline ferry::error run_idle(const workload& w, const endpoint& at, measurement& m,
                             idle_sockets& idle) {
  auto e = measure_idle_connections(w, at, m, [&](std::string& error) {
    error = idle.open(at, w.idle_connections,
                      std::chrono::seconds(30) + std::chrono::seconds(w.idle_connections / 500));
    return idle.opened();
  });
  return e.empty() ? ferry::error{} : idle_error(e);
}

// Idle topics: `n` empty streams (XGROUP CREATE ... MKSTREAM: a stream with a consumer
// group and no entries), pipelined on one connection. Empty, or why not.
inline std::string create_idle_streams(const endpoint& at, uint32_t n) {
  redis_link link;
  if (auto e = link.open(at.host, at.port, std::chrono::seconds(30)); !e.empty()) return e;
  const std::string prefix = "ferry-bench-idle-" + std::to_string(::getpid()) + "-";
  constexpr uint32_t batch = 1000;
  for (uint32_t from = 0; from < n; from += batch) {
    uint32_t to = std::min(n, from + batch);
    std::vector<std::string> keys;
    for (uint32_t i = from; i < to; ++i)
      keys.push_back(prefix + std::to_string(i));
    for (auto& k : keys) {
      args a{"XGROUP", "CREATE", k, "g", "$", "MKSTREAM"};
      if (auto e = link.append(a); !e.empty()) return e;
    }
    if (auto e = link.flush(); !e.empty()) return e;
    for (uint32_t i = from; i < to; ++i) {
      reply_ptr r;
      if (auto e = link.wait_reply(r); !e.empty()) return e;
      if (r->type == REDIS_REPLY_ERROR) return "XGROUP CREATE: " + std::string(text_of(r.get()));
    }
  }
  return {};
}

}  // namespace ferry::bench::redis
