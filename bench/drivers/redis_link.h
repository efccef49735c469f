// redis_link: one hiredis connection (synchronous API), used by the Redis drivers
// (redis_driver.cpp) either for round trips or pipelined: commands are appended, written
// in one go, and their replies collected as they arrive, without blocking when asked not to.
//
// Owns the redisContext. Not thread-safe: one thread uses a redis_link at a time. Socket
// reads and writes are bounded by the timeout given to open() (hiredis sets SO_RCVTIMEO and
// SO_SNDTIMEO). Errors come back as text, empty = ok.
#pragma once

#include <chrono>
#include <initializer_list>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <hiredis/hiredis.h>
#include <poll.h>
#include <sys/time.h>

namespace ferry::bench::redis {

struct reply_deleter {
  void operator()(redisReply* r) const { freeReplyObject(r); }
};
using reply_ptr = std::unique_ptr<redisReply, reply_deleter>;

inline std::string_view text_of(const redisReply* r) {
  return r == nullptr ? std::string_view() : std::string_view(r->str, r->len);
}

// A command's arguments, for redisAppendCommandArgv (binary-safe). The views must outlive it.
class args {
 public:
  args() = default;
  args(std::initializer_list<std::string_view> a) {
    for (auto s : a)
      add(s);
  }
  void add(std::string_view s) {
    ptrs_.push_back(s.data());
    lens_.push_back(s.size());
  }
  void clear() {
    ptrs_.clear();
    lens_.clear();
  }
  int argc() const { return static_cast<int>(ptrs_.size()); }
  const char** argv() { return ptrs_.data(); }
  const size_t* argvlen() const { return lens_.data(); }

 private:
  std::vector<const char*> ptrs_;
  std::vector<size_t> lens_;
};

class redis_link {
 public:
  redis_link() = default;
  ~redis_link() {
    if (c_ != nullptr) redisFree(c_);
  }
  redis_link(const redis_link&) = delete;
  redis_link& operator=(const redis_link&) = delete;

  std::string open(const std::string& host, uint16_t port, std::chrono::milliseconds timeout) {
    timeval tv{static_cast<time_t>(timeout.count() / 1000),
               static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
    c_ = redisConnectWithTimeout(host.c_str(), port, tv);
    if (c_ == nullptr) return "connect: out of memory";
    if (c_->err != 0) return std::string("connect: ") + c_->errstr;
    return {};
  }

  int fd() const { return c_->fd; }

  // One round trip; an error reply is an error too.
  std::string command(args a, reply_ptr* out = nullptr) {
    if (auto e = append(a); !e.empty()) return e;
    if (auto e = flush(); !e.empty()) return e;
    reply_ptr r;
    if (auto e = wait_reply(r); !e.empty()) return e;
    if (r->type == REDIS_REPLY_ERROR) return std::string(text_of(r.get()));
    if (out != nullptr) *out = std::move(r);
    return {};
  }

  // ---- pipelining ----
  std::string append(args& a) {
    if (redisAppendCommandArgv(c_, a.argc(), a.argv(), a.argvlen()) != REDIS_OK) return error();
    return {};
  }
  // Writes everything appended (blocking: Redis keeps reading while it answers).
  std::string flush() {
    int done = 0;
    while (done == 0)
      if (redisBufferWrite(c_, &done) != REDIS_OK) return error();
    return {};
  }
  // The next reply if one is complete, else waits up to `wait` for input and tries again;
  // `out` stays empty when none came.
  std::string next_reply(reply_ptr& out, std::chrono::microseconds wait) {
    void* r = nullptr;
    if (redisGetReplyFromReader(c_, &r) != REDIS_OK) return error();
    if (r == nullptr) {
      pollfd p{c_->fd, POLLIN, 0};
      timespec ts{static_cast<time_t>(wait.count() / 1'000'000),
                  static_cast<long>(wait.count() % 1'000'000 * 1000)};
      if (::ppoll(&p, 1, &ts, nullptr) > 0) {
        if (redisBufferRead(c_) != REDIS_OK) return error();
        if (redisGetReplyFromReader(c_, &r) != REDIS_OK) return error();
      }
    }
    out.reset(static_cast<redisReply*>(r));
    return {};
  }
  // The next reply, waiting for it (bounded by the socket timeout).
  std::string wait_reply(reply_ptr& out) {
    void* r = nullptr;
    if (redisGetReply(c_, &r) != REDIS_OK) return error();
    out.reset(static_cast<redisReply*>(r));
    return {};
  }

 private:
  std::string error() const { return c_->errstr[0] != 0 ? c_->errstr : "connection lost"; }

  redisContext* c_ = nullptr;
};

}  // namespace ferry::bench::redis
