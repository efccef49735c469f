#include "broker/net/connection.h"

#include <algorithm>
#include <cstring>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "broker/core/log.h"
#include "proto/codec/frame_codec.h"

namespace ferry::broker {

namespace asio = boost::asio;

namespace {
// The read buffer starts small, so that an idle connection costs little memory, and doubles
// each time one read fills it, up to max_read_buffer_bytes (a busy connection reaches that
// after a few reads). A frame larger than that grows it to fit, and it shrinks back after.
constexpr size_t min_read_buffer_bytes = 4 * 1024;
constexpr size_t max_read_buffer_bytes = 256 * 1024;
}  // namespace

connection::connection(std::unique_ptr<transport> stream, const connection_limits& limits,
                       uint64_t id, net_probe& probe)
    : stream_(std::move(stream)),
      limits_(limits),
      id_(id),
      probe_(probe),
      deadline_(stream_->executor()),
      wake_(stream_->executor()) {
  rbuf_.resize(min_read_buffer_bytes);
  max_inbound_frame_bytes_ = limits.max_frame_bytes;
}

connection::~connection() = default;

void connection::start(connection_handler& handler) {
  handler_ = &handler;
  handshake_pending_ = true;
  handshake_until_ = clock::now() + std::chrono::milliseconds(limits_.handshake_timeout_ms);
  arm_deadline();
  asio::co_spawn(stream_->executor(), read_loop(shared_from_this()),
                 [self = shared_from_this()](std::exception_ptr e) {
                   if (!e) return;
                   try {
                     std::rethrow_exception(e);
                   } catch (const std::exception& ex) {
                     log::net().error("conn {}: unexpected exception, closing: {}", self->id_,
                                      ex.what());
                   } catch (...) {
                     log::net().error("conn {}: unexpected exception, closing", self->id_);
                   }
                   self->close();
                 });
}

void connection::handshake_done() {
  handshake_pending_ = false;
  arm_deadline();
}

// One timer for both deadlines (an idle connection holds one timer less): the earliest of
// the handshake's and the write in flight's.
void connection::arm_deadline() {
  auto at = clock::time_point::max();
  if (handshake_pending_) at = std::min(at, handshake_until_);
  if (write_in_flight_) at = std::min(at, write_until_);
  at = std::min(at, give_up_at_);
  if (at == clock::time_point::max() || closed_) {
    deadline_.cancel();
    return;
  }
  deadline_.expires_at(at);
  deadline_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
    if (!ec && !self->closed_) self->on_deadline();
  });
}

void connection::on_deadline() {
  const auto now = clock::now();
  if (now >= give_up_at_) {
    log::net().info("conn {} ({}): the handshake error was not taken in time, closing", id_,
                    peer());
    close();
    return;
  }
  if (write_in_flight_ && now >= write_until_) {
    ++probe_.slow_consumers;
    log::net().warn(
        "conn {} ({}): slow consumer, a write took over {} ms (limits.write_timeout_ms), closing",
        id_, peer(), limits_.write_timeout_ms);
    close();
    return;
  }
  if (handshake_pending_ && now >= handshake_until_) {
    handshake_pending_ = false;
    std::string why = "no Hello within " + std::to_string(limits_.handshake_timeout_ms) +
                      " ms (limits.handshake_timeout_ms)";
    log::net().info("conn {} ({}): {}, closing", id_, peer(), why);
    codec::append_error(out_, 0, errc::not_handshaken, why);
    // A client that is not reading (or over TLS, never finished its handshake, so nothing
    // can be written to it) gets a second to take the error, not a write timeout's worth.
    give_up_at_ = now + std::chrono::seconds(1);
    close_after_flush();
    arm_deadline();
    return;
  }
  arm_deadline();
}

asio::awaitable<void> connection::read_loop(std::shared_ptr<connection> self) {
  while (!self->closed_ && !self->closing_) {
    if (self->throttled_ && clock::now() >= self->throttled_until_) self->throttled_ = false;
    if (self->paused_ || self->throttled_ ||
        self->unsent_bytes() > self->limits_.pause_outbound_bytes()) {
      self->wake_.expires_at(self->throttled_ ? self->throttled_until_
                                              : asio::steady_timer::time_point::max());
      co_await self->wake_.async_wait(asio::as_tuple(asio::use_awaitable));
      continue;
    }
    if (self->process_buffer() && !self->closed_) self->handler_->on_input_drained();
    if (self->paused_ || self->throttled_) continue;
    if (self->closed_ || self->closing_) break;
    self->make_room();
    auto [ec, n] = co_await async_read_some(
        *self->stream_,
        asio::buffer(self->rbuf_.data() + self->rend_, self->rbuf_.size() - self->rend_),
        asio::as_tuple(asio::use_awaitable));
    if (ec) {
      if (ec != asio::error::eof && ec != asio::error::operation_aborted)
        log::net().debug("conn {}: read: {}", self->id_, ec.message());
      self->close();
      break;
    }
    // A read that filled the buffer says more was waiting: read more at once next time.
    if (self->rend_ + n == self->rbuf_.size() && self->rbuf_.size() < max_read_buffer_bytes)
      self->grow_ = true;
    self->rend_ += n;
    self->probe_.bytes_in += n;
  }
}

bool connection::process_buffer() {
  bool any = false;
  while (!paused_ && !throttled_ && !closing_ && !closed_) {
    std::string_view avail(reinterpret_cast<const char*>(rbuf_.data()) + rbegin_, rend_ - rbegin_);
    std::string_view frame;
    size_t consumed = 0;
    auto st = codec::split_frame(avail, max_inbound_frame_bytes_, frame, consumed);
    if (st == codec::split_status::need_more) break;
    if (st == codec::split_status::too_large) {
      uint32_t n = wire::read_be32(rbuf_.data() + rbegin_);
      handler_->on_framing_error(errc::frame_too_large,
                                 "frame of " + std::to_string(n) +
                                     " bytes is above max_frame_bytes " +
                                     std::to_string(max_inbound_frame_bytes_));
      close_after_flush();
      break;
    }
    rbegin_ += consumed;
    any = true;
    ++probe_.frames_in;
    handler_->on_frame(frame);
  }
  return any;
}

void connection::make_room() {
  if (rbegin_ == rend_) {
    rbegin_ = rend_ = 0;
    if (rbuf_.size() > max_read_buffer_bytes) {  // a big frame passed: give the memory back
      rbuf_.resize(max_read_buffer_bytes);
      rbuf_.shrink_to_fit();
    }
  }
  if (grow_) {
    grow_ = false;
    rbuf_.resize(std::min(rbuf_.size() * 2, max_read_buffer_bytes));
  }
  size_t need = 0;  // bytes of the partial frame at the front, once its length is known
  if (rend_ - rbegin_ >= codec::frame_header_bytes)
    need = codec::frame_header_bytes + wire::read_be32(rbuf_.data() + rbegin_);
  if (rend_ == rbuf_.size() || (need != 0 && rbegin_ + need > rbuf_.size())) {
    std::memmove(rbuf_.data(), rbuf_.data() + rbegin_, rend_ - rbegin_);
    rend_ -= rbegin_;
    rbegin_ = 0;
  }
  // split_frame already refused lengths above max_frame_bytes, so this is bounded.
  if (need > rbuf_.size()) rbuf_.resize(need);
}

void connection::flush() {
  if (closed_ || out_.empty()) return;
  if (!closing_ && unsent_bytes() > limits_.max_outbound_bytes) {
    // Deliveries pause long before this (pause_outbound_bytes): only a peer that sends
    // requests and does not read their answers gets here. It is told why, behind what is
    // unsent; the write timeout bounds how long that may take.
    log::net().warn(
        "conn {} ({}): slow consumer, {} bytes unsent (limits.max_outbound_bytes), closing", id_,
        peer(), unsent_bytes());
    ++probe_.slow_consumers;
    codec::append_error(out_, 0, errc::slow_consumer,
                        "more than " + std::to_string(limits_.max_outbound_bytes) +
                            " bytes of output unread (limits.max_outbound_bytes)");
    close_after_flush();
    return;
  }
  if (write_in_flight_) return;
  std::swap(out_, writing_);
  out_.clear();
  write_in_flight_ = true;
  write_until_ = clock::now() + std::chrono::milliseconds(limits_.write_timeout_ms);
  if (!handshake_pending_ || write_until_ < handshake_until_) arm_deadline();
  stream_->write(asio::buffer(writing_),
                 [self = shared_from_this()](const boost::system::error_code& ec, size_t) {
                   self->on_written(ec);
                 });
}

void connection::on_written(const boost::system::error_code& ec) {
  write_in_flight_ = false;
  if (!ec) {
    probe_.bytes_out += writing_.size();
    probe_.frames_out += codec::count_frames(writing_);
  }
  writing_.clear();
  if (closed_) return;
  if (ec) {
    log::net().debug("conn {}: write: {}", id_, ec.message());
    close();
    return;
  }
  if (closing_ && out_.empty()) {
    close();
    return;
  }
  flush();
  if (!write_in_flight_) arm_deadline();  // the write's deadline is over: no timer waits idle
  wake_reader();
  if (!closed_ && handler_ != nullptr) handler_->on_output_written();
}

void connection::wake_reader() {
  wake_.cancel();
}

void connection::pause_reading() {
  paused_ = true;
}

void connection::resume_reading() {
  paused_ = false;
  wake_reader();
}

void connection::throttle_for(std::chrono::milliseconds d) {
  const auto until = clock::now() + d;
  if (throttled_ && until <= throttled_until_) return;
  throttled_ = true;
  throttled_until_ = until;
  wake_reader();  // a reader waiting for another reason waits until then now
}

void connection::close_after_flush() {
  if (closed_ || closing_) return;
  closing_ = true;
  wake_reader();
  if (!write_in_flight_ && out_.empty()) {
    close();
  } else {
    flush();
  }
}

void connection::close() {
  if (closed_) return;
  closed_ = true;
  stream_->close();
  deadline_.cancel();
  wake_.cancel();
  // The handler hears of it on a fresh stack: close() may be called from inside it.
  asio::post(stream_->executor(), [self = shared_from_this()] { self->finish(); });
}

void connection::finish() {
  if (finished_) return;
  finished_ = true;
  if (handler_ != nullptr) handler_->on_close();
  handler_ = nullptr;
}

}  // namespace ferry::broker
