#include "bench/drivers/ferry_idle.h"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>

#include "ferry/v1/frame.pb.h"

namespace ferry::bench {

namespace asio = boost::asio;

namespace {

// A frame on the wire: u32 big-endian length, then the encoded v1::Frame.
std::string framed(const v1::Frame& f) {
  std::string body = f.SerializeAsString();
  auto n = static_cast<uint32_t>(body.size());
  std::string out;
  out.push_back(static_cast<char>(n >> 24));
  out.push_back(static_cast<char>(n >> 16));
  out.push_back(static_cast<char>(n >> 8));
  out.push_back(static_cast<char>(n));
  return out.append(body);
}

constexpr uint32_t max_answer_bytes = 1 << 20;

}  // namespace

idle_connection_set::idle_connection_set(asio::io_context& io, const endpoint& at, uint32_t count,
                                         uint32_t parallel)
    : io_(io), count_(count), parallel_(parallel) {
  boost::system::error_code ec;
  target_ = asio::ip::tcp::endpoint(asio::ip::make_address(at.host, ec), at.port);
  if (ec) failure_ = "bad broker address '" + at.host + "'";
  v1::Frame hello;
  hello.set_correlation_id(1);
  hello.mutable_hello()->set_protocol_version(1);
  hello.mutable_hello()->set_client_id("ferry-bench-idle");
  hello_ = framed(hello);
  conns_.reserve(count);
}

idle_connection_set::~idle_connection_set() {
  for (auto& c : conns_) {
    boost::system::error_code ec;
    c->socket.close(ec);
  }
}

void idle_connection_set::open() {
  if (done()) {
    io_.stop();
    return;
  }
  start_more();
}

void idle_connection_set::start_more() {
  while (failure_.empty() && in_progress_ < parallel_ && started_ < count_)
    start(started_++);
}

void idle_connection_set::start(uint32_t i) {
  ++in_progress_;
  conns_.push_back(std::make_unique<conn>(io_));
  conns_[i]->socket.async_connect(target_, [this, i](boost::system::error_code ec) {
    if (ec) return fail(i, "connect: " + ec.message());
    asio::async_write(conns_[i]->socket, asio::buffer(hello_),
                      [this, i](boost::system::error_code ec2, size_t) {
                        if (ec2) return fail(i, "send Hello: " + ec2.message());
                        read_frame(i);
                      });
  });
}

void idle_connection_set::read_frame(uint32_t i) {
  conn& c = *conns_[i];
  asio::async_read(c.socket, asio::buffer(c.head), [this, i](boost::system::error_code ec, size_t) {
    if (ec) return fail(i, "closed by the broker before HelloOk (" + ec.message() + ")");
    conn& c2 = *conns_[i];
    uint32_t n = (uint32_t{c2.head[0]} << 24) | (uint32_t{c2.head[1]} << 16) |
                 (uint32_t{c2.head[2]} << 8) | uint32_t{c2.head[3]};
    if (n > max_answer_bytes) return fail(i, "an answer of " + std::to_string(n) + " bytes");
    c2.body.resize(n);
    asio::async_read(
        c2.socket, asio::buffer(c2.body), [this, i](boost::system::error_code ec2, size_t) {
          if (ec2) return fail(i, "closed by the broker before HelloOk (" + ec2.message() + ")");
          on_frame(i);
        });
  });
}

void idle_connection_set::on_frame(uint32_t i) {
  conn& c = *conns_[i];
  v1::Frame f;
  if (!f.ParseFromString(c.body)) return fail(i, "an unparseable answer");
  std::string().swap(c.body);
  if (f.has_error()) return fail(i, "refused: " + f.error().message());
  if (!f.has_hello_ok()) return read_frame(i);  // a push before the answer: skip it
  ++opened_;
  --in_progress_;
  if (done()) {
    io_.stop();
    return;
  }
  start_more();
}

void idle_connection_set::fail(uint32_t i, const std::string& why) {
  if (!failure_.empty()) return;
  failure_ = "idle connection " + std::to_string(i + 1) + " of " + std::to_string(count_) + ": " +
             why + " (" + std::to_string(opened_) + " were open)";
  io_.stop();
}

}  // namespace ferry::bench
