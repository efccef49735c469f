#include "broker/server/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "ferry/v1/session.pb.h"

#include "broker/core/clock.h"
#include "broker/core/log.h"
#include "broker/net/listener.h"
#include "broker/server/context.h"
#include "broker/server/storage_port.h"
#include "broker/session/session.h"

namespace ferry::broker {

namespace asio = boost::asio;

namespace {
constexpr auto drain_timeout = std::chrono::seconds(5);
}

struct server::impl {
  broker_options opts;
  asio::io_context ioc{1};
  asio::thread_pool storage_thread{1};
  system_clock clock;
  std::unique_ptr<storage::engine> engine;
  std::unique_ptr<storage_port> port;
  std::unique_ptr<registry> reg;
  std::unique_ptr<server_context> ctx;
  std::unique_ptr<listener> lis;
  asio::steady_timer ticker{ioc};
  asio::steady_timer drain_timer{ioc};
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  bool stopping = false;

  explicit impl(broker_options o) : opts(std::move(o)) {}

  registry_config topics_config() const {
    const auto& m = opts.memory_topics;
    registry_config c;
    c.default_prefetch = static_cast<uint32_t>(m.default_prefetch);
    c.max_prefetch = static_cast<uint32_t>(m.max_prefetch);
    c.default_ack_timeout_ms = static_cast<int64_t>(m.default_ack_timeout_ms);
    c.default_max_deliveries = static_cast<uint32_t>(m.default_max_deliveries);
    c.dedup_window_ms = static_cast<int64_t>(m.dedup_window_ms);
    c.max_message_bytes = opts.limits.max_message_bytes;
    c.memory_high_watermark_bytes = static_cast<int64_t>(m.memory_high_watermark_bytes);
    c.memory_low_watermark_bytes = static_cast<int64_t>(m.memory_low_watermark_bytes);
    const auto& l = opts.log_topics;
    c.max_partitions = static_cast<uint32_t>(l.max_partitions);
    c.log.max_message_bytes = opts.limits.max_message_bytes;
    c.log.default_credit = static_cast<uint32_t>(l.default_credit);
    c.log.max_credit = static_cast<uint32_t>(m.max_prefetch);
    c.log.default_retention_ms =
        l.default_retention_ms == 0 ? -1 : static_cast<int64_t>(l.default_retention_ms);
    c.log.default_retention_bytes =
        l.default_retention_bytes == 0 ? -1 : static_cast<int64_t>(l.default_retention_bytes);
    c.log.tail_cache_bytes = l.tail_cache_bytes;
    c.log.read_batch_bytes = l.read_batch_bytes;
    return c;
  }

  connection_limits limits() const {
    connection_limits l;
    l.max_frame_bytes = static_cast<uint32_t>(opts.limits.max_frame_bytes);
    l.max_outbound_bytes = opts.limits.max_outbound_bytes;
    l.pause_outbound_bytes = std::min<size_t>(4 << 20, opts.limits.max_outbound_bytes / 2);
    l.write_timeout_ms = static_cast<int64_t>(opts.limits.write_timeout_ms);
    l.handshake_timeout_ms = static_cast<int64_t>(opts.limits.handshake_timeout_ms);
    return l;
  }

  void tick() {
    ticker.expires_after(std::chrono::milliseconds(opts.memory_topics.timer_tick_ms));
    ticker.async_wait([this](boost::system::error_code ec) {
      if (ec || stopping) return;
      reg->tick();
      ctx->flush();
      tick();
    });
  }

  void begin_stop() {
    if (stopping) return;
    stopping = true;
    log::server().info("stopping: draining {} connections", ctx->session_count());
    lis->stop();
    ticker.cancel();
    signals.cancel();
    for (auto& [id, s] : std::map(ctx->sessions())) {
      s->notice(v1::Notice::SHUTTING_DOWN, errc::shutting_down, "the broker is shutting down");
      s->flush();
      s->conn().close_after_flush();
    }
    wait_drained(std::chrono::steady_clock::now() + drain_timeout);
  }

  void wait_drained(std::chrono::steady_clock::time_point deadline) {
    if (ctx->session_count() == 0 || std::chrono::steady_clock::now() >= deadline) {
      ioc.stop();
      return;
    }
    drain_timer.expires_after(std::chrono::milliseconds(10));
    drain_timer.async_wait([this, deadline](boost::system::error_code) { wait_drained(deadline); });
  }
};

server::server(broker_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}

server::~server() {
  auto& i = *impl_;
  // Order matters: sessions detach their consumers from the registry, the registry goes,
  // then storage (after its thread finished every write).
  if (i.ctx) {
    for (auto& [id, s] : std::map(i.ctx->sessions()))
      s->detach_all();
    i.lis.reset();
    i.ctx.reset();
  }
  i.reg.reset();
  if (i.port) i.port->stop();  // every acknowledged write is on disk before RocksDB closes
  i.storage_thread.join();
  i.port.reset();
  i.engine.reset();
}

ferry::error server::start() {
  auto& i = *impl_;
  ferry::error err;
  i.engine = storage::open_rocks_engine({i.opts.storage.data_dir}, err);
  if (!i.engine) return err;
  // Storage completions come back as loop events: fresh clock, and a flush after them.
  i.port = std::make_unique<storage_port>(i.engine->log(), [&i](storage_port::task t) {
    asio::post(i.ioc, [&i, t = std::move(t)] {
      i.reg->begin_event();
      t();
      i.ctx->flush();
    });
  });
  i.reg = std::make_unique<registry>(i.clock, i.topics_config(), i.port.get());
  if (auto e = i.reg->load(i.engine->meta(), &i.engine->log())) return e;
  i.ctx = std::make_unique<server_context>(
      i.opts, *i.reg, *i.engine, [&i](server_context::task t) { asio::post(i.ioc, std::move(t)); },
      [&i](server_context::task t) { asio::post(i.storage_thread, std::move(t)); });
  i.lis = std::make_unique<listener>(i.ioc.get_executor(), *i.ctx, i.limits());
  if (auto e = i.lis->bind(i.opts.net.listen)) return e;
  i.lis->start();
  i.tick();
  i.signals.async_wait([&i](boost::system::error_code ec, int sig) {
    if (ec) return;
    log::server().info("signal {} received", sig);
    i.begin_stop();
  });
  log::server().info("ferryd listening on {} (data dir {})", i.lis->local_address(),
                     i.opts.storage.data_dir);
  return {};
}

std::string server::listen_address() const {
  return impl_->lis->local_address();
}

void server::run() {
  impl_->ioc.run();
}

void server::stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

}  // namespace ferry::broker
