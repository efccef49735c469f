// server: the composition root. Builds every subsystem, wires them, runs the loop, and
// takes it all down in an order that cannot dangle.
#include "broker/server/server.h"

#include <optional>

#include <unistd.h>

#include "broker/cluster/node_identity.h"
#include "broker/server/server_impl.h"

namespace ferry::broker {

ferry::error server::impl::open_storage() {
  ferry::error err;
  engine = storage::open_rocks_engine({opts.data_dir}, err);
  if (!engine) return err;
  port = std::make_unique<storage_port>(engine->log(),
                                        [this](storage_port::task t) { post_event(std::move(t)); });
  catalog = std::make_unique<meta_catalog>(
      engine->meta(), [this](meta_catalog::task t) { asio::post(storage_thread, std::move(t)); },
      [this](meta_catalog::task t) { post_event(std::move(t)); });
  return open_cluster();
}

// cluster.etcd set: the etcd client (it connects on its first call, once the node joins)
// and the catalog that keeps topic definitions there.
ferry::error server::impl::open_cluster() {
  if (!opts.cluster.enabled()) return {};
  std::vector<etcd_endpoint> endpoints;
  if (auto err = parse_etcd_endpoints(opts.cluster.etcd, endpoints); !err.empty())
    return {make_error_code(errc::invalid_argument), "cluster.etcd: " + err};
  etcd = std::make_unique<etcd_client>(ioc, std::move(endpoints), opts.cluster.etcd_timeout_ms);
  shared_catalog = std::make_unique<cluster_catalog>(
      cluster_catalog::environment{
          *etcd, [this](int64_t ms, cluster_catalog::task t) { after(ms, std::move(t)); }},
      *catalog, opts.cluster.prefix);
  return {};
}

ferry::error server::impl::recover() {
  catalog_snapshot snap;
  if (auto err = definitions().load(snap)) return err;
  queues = std::make_unique<queue_registry>(now, opts.queues);
  logs = std::make_unique<log_registry>(now, opts.logs, definitions(), port.get());
  groups = std::make_unique<group_coordinator>(now, *logs);
  directory.add_family(*queues);
  directory.add_family(*logs);
  // Log topics first: the shared subscriptions on them start reading as they are recovered.
  if (auto err = logs->recover(snap, &engine->log())) return err;
  shares = std::make_unique<share_registry>(
      *logs,
      share_context{directory, engine->meta(), now,
                    [this](share_context::task t) { asio::post(storage_thread, std::move(t)); },
                    [this](share_context::task t) { post_event(std::move(t)); }});
  queues->set_feeds(shares.get());
  if (auto err = queues->recover(snap)) return err;
  groups->recover(snap);
  creds = std::make_unique<credentials>(now, opts.auth.enabled);
  security = std::make_unique<security_service>(definitions(), *creds, acl, now);
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
  topics = std::make_unique<topic_service>(directory, *queues, *groups, definitions());
  publishing = std::make_unique<publish_service>(directory);
  schedule = std::make_unique<scheduler>(scheduler::environment{
      engine->schedule(), *publishing, directory, now,
      [this](scheduler::task t) { asio::post(storage_thread, std::move(t)); },
      [this](scheduler::task t) { post_event(std::move(t)); },
      [this](int64_t ms, scheduler::task t) { after(ms, std::move(t)); },
      opts.queues.max_message_bytes});
  publishing->set_scheduler(schedule.get());
  topics->set_scheduler(schedule.get());
  consuming = std::make_unique<consume_service>(directory, *queues, *logs, *groups, *topics);
  group_requests = std::make_unique<group_service>(*groups, definitions());
  services = std::make_unique<broker_services>(
      broker_services{*topics, *publishing, *consuming, *group_requests, nullptr});
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
  add_schedule_metrics(metrics, *schedule);
  add_cluster_metrics(metrics, [this]() -> const cluster_view* { return members.get(); });
  add_process_metrics(metrics, FERRY_VERSION);
}

// cluster.etcd set: the node registers before it serves (docs/CLUSTER.md). The loop runs
// here until it has, or cluster.join_timeout_ms is over: the listener is bound (so the
// advertised address is known) but does not accept yet.
ferry::error server::impl::join_cluster() {
  if (!opts.cluster.enabled()) return {};
  if (opts.cluster.node_id_from_hostname) {
    char host[256] = {};
    ::gethostname(host, sizeof host - 1);
    if (auto err = node_id_of_hostname(host, opts.cluster.node_id); !err.empty())
      return {make_error_code(errc::invalid_argument), "cluster.node_id_from_hostname: " + err};
  }
  node_identity identity;
  if (auto err = load_node_identity(opts.data_dir, opts.cluster.node_id, identity); !err.empty())
    return {make_error_code(errc::invalid_argument), "cluster: " + err};
  cluster_node self{opts.cluster.node_id,
                    opts.cluster.advertise.empty() ? lis->local_address() : opts.cluster.advertise,
                    identity.incarnation};
  members = std::make_unique<membership>(
      membership::environment{*etcd, now,
                              [this](int64_t ms, membership::task t) { after(ms, std::move(t)); }},
      opts.cluster, std::move(self));
  std::optional<std::string> outcome;
  members->join([&outcome](std::string error) { outcome = std::move(error); });
  while (!outcome && ioc.run_one() > 0) {
  }
  if (!outcome)
    return {make_error_code(errc::internal),
            "cluster: the loop stopped before the node registered"};
  if (!outcome->empty())
    return {make_error_code(errc::timeout), "cluster: cannot register in etcd (" +
                                                opts.cluster.etcd +
                                                ") within cluster.join_timeout_ms: " + *outcome};
  services->cluster = members.get();
  shared_catalog->set_view(members.get());
  topics->set_cluster(members.get());
  logs->set_cluster(members.get());
  members->on_partitions_changed([this] { logs->leadership_changed(); });
  return sync_topics();
}

// Then the cluster's topics, before the node serves: the first read of etcd's topics is
// applied (a node that was away catches up with what changed meanwhile), and from then on
// every change another node makes.
ferry::error server::impl::sync_topics() {
  shared_catalog->watch(
      [this](const catalog_batch& b, uint64_t) { topics->apply_from_cluster(b); });
  shared_catalog->start();
  const auto deadline =
      std::chrono::steady_clock::now() + std::chrono::milliseconds(opts.cluster.join_timeout_ms);
  while (!shared_catalog->synced() && ioc.run_one_until(deadline) > 0) {
  }
  if (!shared_catalog->synced())
    return {make_error_code(errc::timeout),
            "cluster: cannot read the cluster's topics from etcd within cluster.join_timeout_ms"};
  return {};
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
  if (members && !members->registered()) return {false, "cluster: " + members->state()};
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

server::server(broker_options opts) : impl_(std::make_unique<impl>(std::move(opts))) {}

ferry::error server::start() {
  auto& i = *impl_;
  if (auto err = i.open_storage()) return err;
  if (auto err = i.recover()) return err;
  if (auto err = i.load_tls()) return err;
  i.build_services();
  if (auto err = i.schedule->recover()) return err;
  i.start_pushes();
  i.build_http();
  if (auto err = i.lis->bind(i.opts.listen)) return err;
  if (!i.opts.http.listen.empty())
    if (auto err = i.http->bind(i.opts.http.listen)) return err;
  if (auto err = i.join_cluster()) return err;
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
