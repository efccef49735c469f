// client_impl: the connection's life. run() is the one coroutine that connects,
// handshakes, reads until the connection dies, and reconnects with jittered exponential
// backoff. It is a named static coroutine holding `self`, never a capturing lambda.
#include <algorithm>
#include <cstring>
#include <optional>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ferry/v1/session.pb.h"

#include "client/src/client_impl.h"
#include "proto/codec/scram.h"

namespace ferry::client::detail {

namespace {
constexpr auto use_nothrow = asio::as_tuple(asio::use_awaitable);
// When HelloOk states no frame limit.
constexpr uint32_t default_max_frame_bytes = 16u << 20;
constexpr size_t initial_read_buffer = 64 * 1024;
}  // namespace

void client_impl::connect(void_handler h) {
  if (closed_) {
    complete_later(ex_, std::move(h), make_error(errc::disconnected, "client closed"));
    return;
  }
  for (const auto& b : opts_.brokers)
    if (b.host.empty() || b.port == 0) {
      complete_later(ex_, std::move(h),
                     make_error(errc::invalid_argument,
                                "client_options::brokers: an entry without a host or a port"));
      return;
    }
  if (running_) {
    if (connected())
      complete_later(ex_, std::move(h), error{});
    else if (connect_handler_)
      complete_later(ex_, std::move(h),
                     make_error(errc::invalid_argument, "a connect is already under way"));
    else
      assign(connect_handler_, std::move(h));  // completes at the (re)connect under way
    return;
  }
  assign(connect_handler_, std::move(h));
  running_ = true;
  asio::co_spawn(ex_, run(shared_from_this()), [w = weak_from_this()](std::exception_ptr p) {
    if (!p) return;
    // Only a user callback can throw here; the client cannot go on safely.
    try {
      std::rethrow_exception(p);
    } catch (const std::exception& e) {
      log_warning(std::string("exception escaped a handler: ") + e.what());
    } catch (...) {
      log_warning("exception escaped a handler");
    }
    if (auto self = w.lock()) {
      self->running_ = false;
      self->close();
    }
  });
}

asio::awaitable<void> client_impl::run(std::shared_ptr<client_impl> self) {
  bool first = true;
  int attempt = 0;
  size_t first_failures = 0;
  while (!self->closed_) {
    auto conn = std::make_shared<connection>(self->ex_, self->opts_.tls, ++self->last_epoch_);
    self->conn_ = conn;
    self->set_state(connection_state::connecting, {});
    error e = co_await self->connect_once(conn);
    if (self->closed_) break;
    if (e) {
      self->conn_.reset();
      if (!self->opts_.brokers.empty())
        self->address_ = (self->address_ + 1) % self->opts_.brokers.size();
      // The first connect goes on to the next broker at once, until each has failed.
      if (first && ++first_failures < std::max<size_t>(self->opts_.brokers.size(), 1)) continue;
      if (first) {
        self->on_first_connect_failed(e);
        co_return;
      }
      self->set_state(connection_state::disconnected, e);
    } else {
      first = false;
      attempt = 0;
      self->on_connected(conn);
      e = co_await self->read_loop(conn);
      if (self->closed_) break;
      self->on_disconnected(e);
    }
    if (!self->opts_.reconnect) {
      self->running_ = false;
      self->close();
      co_return;
    }
    co_await self->backoff(attempt++);
  }
  self->running_ = false;
}

broker_address client_impl::address() const {
  if (opts_.brokers.empty()) return {opts_.host, opts_.port};
  return opts_.brokers[address_];
}

// Resolve, connect and handshake, all bounded by connect_timeout.
asio::awaitable<error> client_impl::connect_once(std::shared_ptr<connection> conn) {
  asio::steady_timer watchdog(ex_);
  watchdog.expires_after(opts_.connect_timeout);
  watchdog.async_wait([w = std::weak_ptr<connection>(conn)](boost::system::error_code ec) {
    auto c = w.lock();
    if (ec || !c) return;
    c->timed_out = true;
    c->stream->close();
  });
  const broker_address at = address();
  std::string where = at.host + ":" + std::to_string(at.port);
  error e = co_await conn->stream->connect(at.host, at.port);
  if (conn->timed_out) co_return make_error(errc::timeout, "connect " + where + ": timed out");
  if (e) co_return e;
  e = co_await handshake(conn);
  watchdog.cancel();
  if (conn->timed_out)
    co_return make_error(errc::timeout, "handshake with " + where + ": timed out");
  co_return e;
}

// Hello with the credentials of the options: a token, or SCRAM's first message (`sasl`
// then holds the exchange).
v1::Hello client_impl::make_hello(std::optional<scram::client>& sasl) const {
  v1::Hello hello;
  hello.set_protocol_version(codec::protocol_version);
  hello.set_client_id(opts_.client_id);
  hello.set_client_software("libferry/0.1.0");
  const credentials& creds = opts_.creds;
  if (!creds.token.empty()) {
    auto* cr = hello.mutable_credentials();
    cr->set_mechanism("TOKEN");
    cr->set_token(creds.token);
  } else if (!creds.username.empty()) {
    sasl.emplace(creds.username, creds.password);
    auto* cr = hello.mutable_credentials();
    cr->set_mechanism(std::string(scram::mechanism));
    cr->set_username(creds.username);
    cr->set_sasl(sasl->first());
  }
  return hello;
}

// Hello, then (SCRAM-SHA-256) AuthChallenge / AuthResponse, then HelloOk. With a token the
// broker answers HelloOk at once; with a user name the password never leaves this process:
// the client proves it knows it, and checks that the broker holds the user's keys.
asio::awaitable<error> client_impl::handshake(std::shared_ptr<connection> conn) {
  std::optional<scram::client> sasl;
  v1::Hello hello = make_hello(sasl);
  uint64_t id = next_id();
  if (error e = co_await send_handshake_frame(*conn, id, codec::body::hello, hello)) co_return e;
  conn->rbuf.resize(initial_read_buffer);
  for (;;) {
    std::string_view frame;
    error e = co_await read_frame(*conn, frame);
    if (e) co_return e;
    codec::frame_view f;
    if (codec::parse_frame(frame, f) != errc::ok)
      co_return make_error(errc::malformed_frame, "malformed handshake answer");
    if (f.kind == codec::body::error && (f.correlation_id == id || f.correlation_id == 0))
      co_return error_from_body(f.bytes);
    if (f.kind == codec::body::notice && f.correlation_id == 0) {
      handle_notice(f.bytes);  // e.g. FLOW_BLOCKED may precede HelloOk
      continue;
    }
    if (f.correlation_id != id) continue;  // nothing else is expected before HelloOk
    if (f.kind == codec::body::auth_challenge) {
      v1::AuthChallenge ch;
      if (!sasl || !ch.ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size())))
        co_return make_error(errc::malformed_frame, "unexpected AuthChallenge from the broker");
      v1::AuthResponse next;
      if (auto why = sasl->final(ch.sasl(), *next.mutable_sasl()); !why.empty())
        co_return make_error(errc::unauthenticated, "SCRAM-SHA-256: " + why);
      e = co_await send_handshake_frame(*conn, id, codec::body::auth_response, next);
      if (e) co_return e;
      continue;
    }
    v1::HelloOk ok;
    if (f.kind != codec::body::hello_ok ||
        !ok.ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size())))
      co_return make_error(errc::malformed_frame, "expected HelloOk from the broker");
    // With a user name, the broker must prove it holds the user's keys: a HelloOk without
    // that proof (a broker without authentication, or one that is not ours) is refused,
    // so credentials cannot be downgraded to an anonymous connection.
    if (sasl) {
      if (ok.sasl().empty())
        co_return make_error(errc::unauthenticated,
                             "SCRAM-SHA-256: the broker accepted us without proving it knows "
                             "the user (is its authentication off?); not going on");
      if (auto why = sasl->verify(ok.sasl()); !why.empty())
        co_return make_error(errc::unauthenticated, "SCRAM-SHA-256: " + why);
    }
    conn->max_frame_bytes = ok.max_frame_bytes() ? ok.max_frame_bytes() : default_max_frame_bytes;
    conn->max_send_frame_bytes =
        ok.max_client_frame_bytes() ? ok.max_client_frame_bytes() : conn->max_frame_bytes;
    conn->max_message_bytes = ok.max_message_bytes();
    conn->heartbeat_ms = ok.heartbeat_interval_ms();
    co_return error{};
  }
}

asio::awaitable<error> client_impl::send_handshake_frame(connection& conn, uint64_t id,
                                                         codec::body kind,
                                                         const google::protobuf::MessageLite& m) {
  std::vector<uint8_t> buf;
  codec::append_frame(buf, id, kind, m);
  auto [ec, n] = co_await conn.stream->write(asio::buffer(buf));
  if (ec) co_return make_error(errc::disconnected, "handshake: " + ec.message());
  co_return error{};
}

// Returns the next frame's bytes, valid until the next call. Grows the buffer up to the
// frame limit; the limit is checked before anything is allocated for a frame.
asio::awaitable<error> client_impl::read_frame(connection& conn, std::string_view& frame) {
  for (;;) {
    std::string_view avail(reinterpret_cast<const char*>(conn.rbuf.data()) + conn.rstart,
                           conn.rend - conn.rstart);
    size_t consumed = 0;
    auto st = codec::split_frame(avail, conn.max_frame_bytes, frame, consumed);
    if (st == codec::split_status::complete) {
      conn.rstart += consumed;
      co_return error{};
    }
    if (st == codec::split_status::too_large)
      co_return make_error(errc::frame_too_large, "the broker sent a frame over max_frame_bytes");
    size_t need = codec::frame_header_bytes;
    if (avail.size() >= codec::frame_header_bytes)
      need += wire::read_be32(conn.rbuf.data() + conn.rstart);
    if (conn.rstart > 0 && conn.rbuf.size() - conn.rstart < std::max(need, size_t{4096})) {
      std::memmove(conn.rbuf.data(), conn.rbuf.data() + conn.rstart, avail.size());
      conn.rend = avail.size();
      conn.rstart = 0;
    }
    if (conn.rbuf.size() < need) conn.rbuf.resize(need);
    auto [ec, n] = co_await conn.stream->read_some(
        asio::buffer(conn.rbuf.data() + conn.rend, conn.rbuf.size() - conn.rend));
    if (ec) {
      if (conn.reason) co_return conn.reason;
      if (conn.timed_out) co_return make_error(errc::timeout, "connect timed out");
      co_return make_error(errc::disconnected, ec == asio::error::eof
                                                   ? "connection closed by the broker"
                                                   : ec.message());
    }
    conn.rend += n;
    conn.last_rx = clock::now();
  }
}

asio::awaitable<error> client_impl::read_loop(std::shared_ptr<connection> conn) {
  for (;;) {
    std::string_view frame;
    error e = co_await read_frame(*conn, frame);
    if (e) co_return e;
    handle_frame(frame);
    if (conn->dead) co_return conn->reason;
  }
}

// Full jitter: a uniform sleep in [0, min(reconnect_max, reconnect_min * 2^attempt)].
asio::awaitable<void> client_impl::backoff(int attempt) {
  auto cap = opts_.reconnect_min;
  for (int i = 0; i < attempt && cap < opts_.reconnect_max; ++i)
    cap *= 2;
  cap = std::min(cap, opts_.reconnect_max);
  auto ms = std::uniform_int_distribution<int64_t>(0, std::max<int64_t>(cap.count(), 0))(rng_);
  backoff_timer_.expires_after(std::chrono::milliseconds(ms));
  co_await backoff_timer_.async_wait(use_nothrow);
}

void client_impl::on_connected(std::shared_ptr<connection> conn) {
  connected_ = true;
  max_frame_bytes_ = conn->max_send_frame_bytes;
  max_message_bytes_ = conn->max_message_bytes;
  conn->last_rx = conn->last_tx = clock::now();
  subscriber_.on_connected();
  log_reader_.on_connected();
  resend_ops();
  start_heartbeat(shared_from_this(), conn);
  set_state(connection_state::connected, {});
  if (connect_handler_) complete(ex_, std::move(connect_handler_), error{});
}

void client_impl::on_disconnected(const error& why) {
  drop_connection(why);
  connected_ = false;
  conn_.reset();
  flow_blocked_ = false;  // a new connection is told again if the broker is still blocked
  subscriber_.on_disconnected();
  log_reader_.on_disconnected();
  requester_.on_disconnected();
  fail_sent_ops();
  set_state(connection_state::disconnected, why);
}

// The first attempt does not retry: everything waiting for it fails with its error.
void client_impl::on_first_connect_failed(const error& e) {
  running_ = false;
  set_state(connection_state::disconnected, e);
  fail_all_ops(e);
  publisher_.fail_all(e);
  requester_.fail_all(e);
  if (connect_handler_) complete(ex_, std::move(connect_handler_), e);
}

void client_impl::close() {
  if (closed_) return;
  closed_ = true;
  auto e = make_error(errc::disconnected, "client closed");
  drop_connection(e);
  connected_ = false;
  conn_.reset();
  backoff_timer_.cancel();
  sweep_timer_.cancel();
  auto ch = std::move(connect_handler_);
  fail_all_ops(e);
  publisher_.fail_all(e);
  subscriber_.fail_all(e);
  log_reader_.fail_all(e);
  requester_.fail_all(e);
  if (ch) complete(ex_, std::move(ch), e);
  set_state(connection_state::closed, {});
}

void client_impl::set_state(connection_state s, const error& e) {
  state_ = s;
  if (opts_.on_state) opts_.on_state(s, e);
}

// With heartbeat_interval_ms from HelloOk: Ping when we sent nothing for an interval;
// drop the connection when the broker sent nothing for three.
void client_impl::start_heartbeat(std::shared_ptr<client_impl> self,
                                  std::shared_ptr<connection> conn) {
  if (conn->heartbeat_ms == 0) return;
  auto interval = std::chrono::milliseconds(conn->heartbeat_ms);
  conn->heartbeat.expires_after(interval);
  conn->heartbeat.async_wait([self, conn, interval](boost::system::error_code ec) {
    if (ec || conn->dead || self->conn_ != conn) return;
    auto now = clock::now();
    if (now - conn->last_rx > 3 * interval) {
      self->drop_connection(make_error(errc::timeout, "no data from the broker for 3 heartbeats"));
      return;
    }
    if (now - conn->last_tx >= interval)
      self->send_push(self->next_id(), codec::body::ping, v1::Ping());
    start_heartbeat(self, conn);
  });
}

}  // namespace ferry::client::detail
