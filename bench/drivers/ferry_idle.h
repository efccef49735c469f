// ferry_idle: many idle connections to ferryd, for what a connection costs the broker.
//
// Each is a raw TCP connection that completes the Hello handshake with hand-made frames
// (nothing else a client would send) and then stays silent. At most `parallel` handshakes
// are under way at once, so the broker's accept queue never overflows.
// Runs on the io_context it is given (one thread). Lifecycle: construct, open() and run
// the io_context until done() (open() stops it then); the destructor closes them all.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <vector>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "bench/driver.h"

namespace ferry::bench {

class idle_connection_set {
 public:
  idle_connection_set(boost::asio::io_context& io, const endpoint& at, uint32_t count,
                      uint32_t parallel = 256);
  ~idle_connection_set();
  idle_connection_set(const idle_connection_set&) = delete;
  idle_connection_set& operator=(const idle_connection_set&) = delete;

  // Starts connecting; stops the io_context once all are open or one failed.
  void open();
  bool done() const { return opened_ == count_ || !failure_.empty(); }
  uint32_t opened() const { return opened_; }
  // Why a connection could not be opened (empty when none failed).
  const std::string& failure() const { return failure_; }

 private:
  struct conn {
    explicit conn(boost::asio::io_context& io) : socket(io) {}
    boost::asio::ip::tcp::socket socket;
    std::array<unsigned char, 4> head{};
    std::string body;
  };

  void start_more();
  void start(uint32_t i);
  void read_frame(uint32_t i);
  void on_frame(uint32_t i);
  void fail(uint32_t i, const std::string& why);

  boost::asio::io_context& io_;
  boost::asio::ip::tcp::endpoint target_;
  uint32_t count_, parallel_;
  uint32_t started_ = 0, opened_ = 0, in_progress_ = 0;
  std::string hello_;  // the framed Hello every connection sends
  std::vector<std::unique_ptr<conn>> conns_;
  std::string failure_;
};

}  // namespace ferry::bench
