// server: the composition root. Builds every subsystem, wires them, runs the loop, and
// takes it all down in an order that cannot dangle.
#include "broker/server/server.h"

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "broker/catalog/meta_catalog.h"
#include "broker/core/clock.h"
#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/groups/group_coordinator.h"
#include "broker/http/broker_metrics.h"
#include "broker/http/http_server.h"
#include "broker/http/idempotency.h"
#include "broker/http/metrics.h"
#include "broker/http/openapi.h"
#include "broker/http/routes.h"
#include "broker/logs/log_registry.h"
#include "broker/net/listener.h"
#include "broker/net/tls_context.h"
#include "broker/protocol/pipeline.h"
#include "broker/push/push_registry.h"
#include "broker/queues/queue_registry.h"
#include "broker/security/acl_authorizer.h"
#include "broker/security/bootstrap.h"
#include "broker/security/credentials.h"
#include "broker/security/quotas.h"
#include "broker/security/security_service.h"
#include "broker/server/storage_port.h"
#include "broker/services/broker_services.h"
#include "broker/session/session.h"
#include "broker/session/session_hub.h"
#include "broker/topics/topic_directory.h"
#include "broker/ws/ws_server.h"
#include "storage/engine.h"

namespace ferry::broker {

namespace asio = boost::asio;

// Members are declared in the order they are built; ~server takes them down explicitly.
struct server::impl {
  broker_options opts;
  asio::io_context ioc{1};  // first: destroyed last, after everything that posts to it
  asio::thread_pool storage_thread{1};
  asio::thread_pool http_worker{1};  // renders /metrics scrapes off the loop
  system_clock clock;
  loop_clock now{clock};
  std::unique_ptr<storage::engine> engine;
  std::unique_ptr<storage_port> port;
  std::unique_ptr<meta_catalog> catalog;
  std::unique_ptr<queue_registry> queues;
  std::unique_ptr<log_registry> logs;
  std::unique_ptr<group_coordinator> groups;
  topic_directory directory;
  std::unique_ptr<topic_service> topics;
  std::unique_ptr<publish_service> publishing;
  std::unique_ptr<consume_service> consuming;
  std::unique_ptr<group_service> group_requests;
  std::unique_ptr<broker_services> services;
  std::unique_ptr<credentials> creds;  // users and tokens (with auth off: everyone anonymous)
  acl_authorizer acl;
  allow_all no_rules;  // auth off
  std::unique_ptr<security_service> security;
  std::unique_ptr<quotas> limits;
  std::unique_ptr<pipeline> requests;
  std::unique_ptr<session_hub> hub;
  std::unique_ptr<session::environment> session_env;  // what every session works with
  std::unique_ptr<push_registry> pushes;              // the push subscriptions' endpoints
  net_probe net;
  std::unique_ptr<listener> lis;
  router http_routes;
  std::unique_ptr<idempotency_window> http_retries;  // retried HTTP publishes
  metrics_registry metrics;
  std::unique_ptr<http_server> http;
  std::unique_ptr<ws_server> websockets;  // GET /v1/ws, taken over from the HTTP side
  bool serving = false;                   // recovered, and both listeners up
  asio::steady_timer ticker{ioc};
  asio::steady_timer drain_timer{ioc};
  asio::steady_timer health_timer{ioc};
  storage::storage_health::stall last_stall = storage::storage_health::stall::none;
  asio::signal_set signals{ioc, SIGINT, SIGTERM};
  asio::signal_set hangups{ioc, SIGHUP};
  // tls.enabled: the context new connections get; SIGHUP replaces it.
  std::shared_ptr<asio::ssl::context> tls;
  bool stopping = false;
  bool closing_clients = false;  // the drain's second step: every request read is answered
  std::chrono::steady_clock::time_point drain_started, drain_deadline;

  explicit impl(broker_options o) : opts(std::move(o)) {}

  // Work that comes back to the loop from another thread runs as an event of its own:
  // the clock stamped first, the flush point after.
  void post_event(std::function<void()> task) {
    asio::post(ioc, [this, task = std::move(task)] {
      now.stamp();
      task();
      hub->flush();
    });
  }

  ferry::error open_storage();
  ferry::error recover();
  ferry::error start_security();
  ferry::error load_tls();
  void watch_hangups();
  authorizer& authz() { return opts.auth.enabled ? static_cast<authorizer&>(acl) : no_rules; }
  tls_source tls_for_new_connections() {
    return [this] { return tls; };
  }
  void build_services();
  void start_pushes();
  void build_http();
  void after(int64_t ms, std::function<void()> fn);
  readiness ready() const;
  void accept(std::unique_ptr<transport> stream);
  void tick();
  void watch_storage();
  void log_summary();
  void begin_stop();
  void wait_drained();
};

ferry::error server::impl::open_storage() {
  ferry::error err;
  engine = storage::open_rocks_engine({opts.data_dir}, err);
  if (!engine) return err;
  port = std::make_unique<storage_port>(engine->log(),
                                        [this](storage_port::task t) { post_event(std::move(t)); });
  catalog = std::make_unique<meta_catalog>(
      engine->meta(), [this](meta_catalog::task t) { asio::post(storage_thread, std::move(t)); },
      [this](meta_catalog::task t) { post_event(std::move(t)); });
  return {};
}

ferry::error server::impl::recover() {
  catalog_snapshot snap;
  if (auto err = catalog->load(snap)) return err;
  queues = std::make_unique<queue_registry>(now, opts.queues);
  logs = std::make_unique<log_registry>(now, opts.logs, *catalog, port.get());
  groups = std::make_unique<group_coordinator>(now, *logs);
  if (auto err = queues->recover(snap)) return err;
  if (auto err = logs->recover(snap, &engine->log())) return err;
  groups->recover(snap);
  directory.add_family(*queues);
  directory.add_family(*logs);
  creds = std::make_unique<credentials>(now, opts.auth.enabled);
  security = std::make_unique<security_service>(*catalog, *creds, acl, now);
  security->load(snap);
  limits = std::make_unique<quotas>(opts.quotas,
                                    [this](std::string_view user) { return creds->quota(user); });
  return start_security();
}

ferry::error server::impl::start_security() {
  if (!opts.auth.enabled && opts.auth.allow_anonymous)
    log::security().warn(
        "authentication is off and auth.allow_anonymous is on: anyone who reaches {} or {} "
        "may do anything",
        opts.listen, opts.http.listen.empty() ? std::string("(no HTTP)") : opts.http.listen);
  if (!opts.auth.enabled) return {};
  return bootstrap_admin(opts.auth, *security);
}

ferry::error server::impl::load_tls() {
  if (!opts.tls.enabled) return {};
  if (auto err = make_tls_context(opts.tls, tls)) return err;
  log::net().info("TLS on both listeners ({}, client certificates: {})", opts.tls.cert_file,
                  opts.tls.client_auth);
  return {};
}

// SIGHUP: the TLS files read again. New connections get the new context; open ones keep
// theirs. A file that does not load leaves the old context in place.
void server::impl::watch_hangups() {
  hangups.async_wait([this](boost::system::error_code ec, int) {
    if (ec) return;
    if (opts.tls.enabled) {
      std::shared_ptr<asio::ssl::context> next;
      if (auto err = make_tls_context(opts.tls, next)) {
        log::net().error("SIGHUP: TLS not reloaded, the old certificate stays: {}", err.message);
      } else {
        tls = std::move(next);
        log::net().info("SIGHUP: TLS certificate reloaded for new connections");
      }
    } else {
      log::server().info("SIGHUP: nothing to reload (tls.enabled is false)");
    }
    watch_hangups();
  });
}

void server::impl::build_services() {
  topics = std::make_unique<topic_service>(directory, *queues, *groups, *catalog);
  publishing = std::make_unique<publish_service>(directory);
  consuming = std::make_unique<consume_service>(directory, *queues, *logs, *groups, *topics);
  group_requests = std::make_unique<group_service>(*groups, *catalog);
  services = std::make_unique<broker_services>(
      broker_services{*topics, *publishing, *consuming, *group_requests});
  broker_info info;
  info.max_frame_bytes = opts.connection.max_frame_bytes;
  info.max_message_bytes = static_cast<uint32_t>(opts.queues.max_message_bytes);
  requests = std::make_unique<pipeline>(now, *services, *security, *limits, info, *creds, authz());
  hub = std::make_unique<session_hub>(queues->memory(), opts.session);
  session_env = std::make_unique<session::environment>(
      session::environment{*hub, *requests, now, *consuming, *topics});
  lis = std::make_unique<listener>(
      ioc.get_executor(), [this] { return hub->room(); },
      [this](std::unique_ptr<transport> stream) { accept(std::move(stream)); }, net,
      tls_for_new_connections());
}

// Push subscriptions: their endpoints are told of every change of a definition from now
// on; those recovered start here.
void server::impl::start_pushes() {
  auto as_event = [this](std::function<void()> fn) {
    now.stamp();
    fn();
    hub->flush();
  };
  pushes = std::make_unique<push_registry>(
      push_endpoint::environment{*consuming, ioc, nullptr, as_event}, opts.push);
  topics->set_push_listener(pushes.get());
  v1::SubscriptionList all;
  topics->list_subscriptions("", all);
  for (const auto& s : all.subscriptions())
    if (s.options().has_push()) pushes->push_changed(s.name(), &s.options().push());
}

// The HTTP side: its routes on the same services as the wire protocol's handlers, and
// one metrics source per subsystem.
void server::impl::build_http() {
  http = std::make_unique<http_server>(
      ioc, opts.http, http_routes, now, [this] { hub->flush(); }, tls_for_new_connections());
  add_probe_routes(
      http_routes, [this] { return ready(); }, FERRY_VERSION);
  add_metrics_routes(
      http_routes, metrics,
      [this](std::function<void()> t) { asio::post(http_worker, std::move(t)); },
      [this](std::function<void()> t) { post_event(std::move(t)); });
  add_admin_routes(http_routes, *topics, *group_requests);
  add_security_routes(http_routes, *security);
  http_retries = std::make_unique<idempotency_window>(opts.http.idempotency_keys,
                                                      opts.http.idempotency_window_ms);
  add_publish_routes(
      http_routes,
      {*publishing, queues->memory(), *limits, *http_retries, now, opts.queues.max_message_bytes,
       [this](int64_t ms, std::function<void()> fn) { after(ms, std::move(fn)); }});
  if (opts.auth.enabled) http_routes.secure(*creds, acl);
  websockets = std::make_unique<ws_server>(
      ws_environment{*consuming, *group_requests, authz(), *limits, *hub, now, opts.http});
  websockets->add_routes(http_routes);
  websockets->add_metrics(metrics);
  add_dashboard_routes(http_routes, metrics, FERRY_VERSION);
  add_openapi_route(http_routes, FERRY_VERSION);
  const size_t cap = opts.http.metrics_max_topics;
  add_net_metrics(metrics, net, *requests, *hub, *http);
  add_topic_metrics(metrics, *topics, *queues, *logs, cap);
  add_group_metrics(metrics, *group_requests, *groups, cap);
  add_storage_metrics(
      metrics, [this] { return port->commit_stats(); }, [this] { return engine->health(); },
      queues->memory());
  add_process_metrics(metrics, FERRY_VERSION);
}

// `fn` as an event of its own, `ms` from now.
void server::impl::after(int64_t ms, std::function<void()> fn) {
  auto timer = std::make_shared<asio::steady_timer>(ioc, std::chrono::milliseconds(ms));
  timer->async_wait([this, timer, fn = std::move(fn)](boost::system::error_code ec) {
    if (ec) return;
    now.stamp();
    fn();
    hub->flush();
  });
}

// /readyz: the RocksDB write stop is the disk alarm (it comes with a full or stalled disk).
readiness server::impl::ready() const {
  if (stopping) return {false, "draining: the broker is stopping"};
  if (!serving) return {false, "starting"};
  if (last_stall == storage::storage_health::stall::stopped)
    return {false, "storage: RocksDB has stopped writes"};
  if (queues->memory().blocked())
    return {false, "memory: message buffers are over the high-water mark"};
  return {true, {}};
}

void server::impl::accept(std::unique_ptr<transport> stream) {
  auto conn =
      std::make_shared<connection>(std::move(stream), opts.connection, hub->next_session_id(), net);
  auto s = std::make_shared<session>(*session_env, std::move(conn));
  hub->add(s);
  s->start();
}

void server::impl::tick() {
  ticker.expires_after(std::chrono::milliseconds(opts.queues.timer_tick_ms));
  ticker.async_wait([this](boost::system::error_code ec) {
    if (ec) return;  // it runs on while draining: lease and TTL timers still fire
    now.stamp();
    queues->tick();
    logs->tick();
    groups->tick();
    hub->flush();
    tick();
  });
}

// Once a second: a RocksDB write stall (appends delayed, or stopped until compaction
// catches up) is logged when it starts and ends, and while writes are stopped publishing
// is flow-blocked with the reason (FLOW_BLOCKED), instead of publishes silently hanging.
void server::impl::watch_storage() {
  health_timer.expires_after(std::chrono::seconds(1));
  health_timer.async_wait([this](boost::system::error_code ec) {
    if (ec || stopping) return;
    now.stamp();
    const auto h = engine->health();
    using stall = storage::storage_health::stall;
    if (h.write_stall != last_stall) {
      last_stall = h.write_stall;
      std::string state = fmt::format(
          "{} level-0 files of log records, {} of definitions; {} MiB of compaction pending",
          h.log_l0_files, h.meta_l0_files, h.pending_compaction_bytes >> 20);
      const char* what = h.write_stall == stall::stopped   ? "stopped"
                         : h.write_stall == stall::delayed ? "delayed"
                                                           : "flowing again";
      if (h.write_stall == stall::none) {
        log::storage().info("storage: writes {} ({})", what, state);
      } else {
        log::storage().warn("storage: writes {} ({})", what, state);
      }
      hub->set_storage_stopped(h.write_stall == stall::stopped, state);
    }
    watch_storage();
  });
}

// SIGTERM (docs/ARCHITECTURE.md, "Shutdown"): not ready, no new connections, no new
// requests; the requests already read are answered (publishes once durable), then every
// client is closed after its output is written; the loop stops when all are closed, when
// shutdown.grace_ms has passed, or at a second signal.
void server::impl::begin_stop() {
  if (stopping) return;
  stopping = true;
  drain_started = std::chrono::steady_clock::now();
  drain_deadline = drain_started + std::chrono::milliseconds(opts.shutdown_grace_ms);
  health_timer.cancel();
  log::server().info("stopping: draining {} connections (grace {} ms)", hub->count(),
                     opts.shutdown_grace_ms);
  lis->stop();
  pushes->stop_all();  // no new requests to handlers; what they hold goes back to the queues
  websockets->stop();
  for (auto& s : hub->all())
    s->begin_drain();
  signals.async_wait([this](boost::system::error_code ec, int sig) {
    if (ec) return;
    log::server().warn("signal {} received again: stopping at once, {} connections cut", sig,
                       hub->count());
    ioc.stop();
  });
  wait_drained();
}

void server::impl::wait_drained() {
  if (!closing_clients && port->in_flight() == 0 && catalog->in_flight() == 0) {
    closing_clients = true;
    for (auto& s : hub->all())
      s->shut_down();
  }
  const auto now_steady = std::chrono::steady_clock::now();
  if (closing_clients && hub->count() == 0 && websockets->connections() == 0) {
    log::server().info(
        "drained in {} ms",
        std::chrono::duration_cast<std::chrono::milliseconds>(now_steady - drain_started).count());
    ioc.stop();
    return;
  }
  if (now_steady >= drain_deadline) {
    log::server().warn(
        "shutdown.grace_ms ({}) is over: stopping with {} connections open and {} storage "
        "requests unanswered (finished before exit, not confirmed to clients)",
        opts.shutdown_grace_ms, hub->count(), port->in_flight() + catalog->in_flight());
    ioc.stop();
    return;
  }
  drain_timer.expires_after(std::chrono::milliseconds(5));
  drain_timer.async_wait([this](boost::system::error_code ec) {
    if (!ec) wait_drained();
  });
}

server::server(broker_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}

server::~server() {
  auto& i = *impl_;
  i.lis.reset();  // no new connections
  i.http.reset();
  // Every thread that uses broker state finishes first: the catalog's writes, then the
  // log committer and reader. What they post back to the loop never runs: it has stopped.
  i.storage_thread.join();
  i.http_worker.join();
  if (i.port) i.port->stop();
  // Then the state they used, top down: sessions let go of their consumers before the
  // subscriptions and readers those point at go.
  if (i.topics) i.topics->set_push_listener(nullptr);
  i.pushes.reset();  // its consumers let go too
  if (i.websockets) i.websockets->stop();
  if (i.hub)
    for (auto& s : i.hub->all())
      s->close_consumers();
  i.hub.reset();
  i.requests.reset();
  i.services.reset();
  i.group_requests.reset();
  i.consuming.reset();
  i.publishing.reset();
  i.topics.reset();
  i.security.reset();
  i.groups.reset();
  i.logs.reset();
  i.queues.reset();
  i.catalog.reset();
  i.port.reset();  // every acknowledged write is on disk before RocksDB closes
  i.engine.reset();
}

ferry::error server::start() {
  auto& i = *impl_;
  if (auto err = i.open_storage()) return err;
  if (auto err = i.recover()) return err;
  if (auto err = i.load_tls()) return err;
  i.build_services();
  i.start_pushes();
  i.build_http();
  if (auto err = i.lis->bind(i.opts.listen)) return err;
  if (!i.opts.http.listen.empty())
    if (auto err = i.http->bind(i.opts.http.listen)) return err;
  i.lis->start();
  if (!i.opts.http.listen.empty()) i.http->start();
  i.serving = true;
  i.tick();
  i.watch_storage();
  i.watch_hangups();
  i.signals.async_wait([&i](boost::system::error_code ec, int sig) {
    if (ec) return;
    log::server().info("signal {} received", sig);
    i.begin_stop();
  });
  log::server().info("ferryd listening on {} (data dir {})", i.lis->local_address(),
                     i.opts.data_dir);
  return {};
}

std::string server::listen_address() const {
  return impl_->lis->local_address();
}

std::string server::http_address() const {
  return impl_->opts.http.listen.empty() ? std::string() : impl_->http->local_address();
}

void server::run() {
  impl_->ioc.run();
  impl_->log_summary();
}

// What the probes counted, in one line at the end (the HTTP side will serve them live).
void server::impl::log_summary() {
  const auto c = port->commit_stats();
  const auto& q = queues->probe();
  const auto& l = logs->probe();
  const auto& g = groups->probe();
  log::server().info(
      "served {} connections ({} refused, {} slow consumers closed), {} frames, {} bytes in, {} "
      "out; memory topics: {} messages published, {} refused, {} dead-lettered; log topics: "
      "{} records appended in {} batches and {} fsyncs, {} write failures, {} records read; "
      "groups: {} joins, {} commits",
      net.connections_accepted, net.connections_refused, net.slow_consumers, net.frames_in,
      net.bytes_in, net.bytes_out, q.messages_published, q.messages_refused, q.dead_lettered,
      l.records_appended, c.batches, c.syncs, l.write_failures, l.records_read, g.joins, g.commits);
}

void server::stop() {
  asio::post(impl_->ioc, [this] { impl_->begin_stop(); });
}

}  // namespace ferry::broker
