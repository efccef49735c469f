// server_impl: the composition root's state (server.h's pimpl), shared by server.cpp
// (building and running) and server_stop.cpp (draining and taking down). Included by
// those two files only.
#pragma once

#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/thread_pool.hpp>

#include "broker/catalog/meta_catalog.h"
#include "broker/cluster/cluster_catalog.h"
#include "broker/cluster/etcd_client.h"
#include "broker/cluster/membership.h"
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
#include "broker/schedule/scheduler.h"
#include "broker/security/acl_authorizer.h"
#include "broker/security/bootstrap.h"
#include "broker/security/credentials.h"
#include "broker/security/quotas.h"
#include "broker/security/security_service.h"
#include "broker/server/server.h"
#include "broker/server/storage_port.h"
#include "broker/services/broker_services.h"
#include "broker/session/session.h"
#include "broker/session/session_hub.h"
#include "broker/shares/share_registry.h"
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
  std::unique_ptr<meta_catalog> catalog;            // this node's definitions
  std::unique_ptr<etcd_client> etcd;                // cluster.etcd set: the cluster's coordination
  std::unique_ptr<cluster_catalog> shared_catalog;  // and its topic definitions, in etcd
  std::unique_ptr<queue_registry> queues;
  std::unique_ptr<log_registry> logs;
  std::unique_ptr<group_coordinator> groups;
  std::unique_ptr<share_registry> shares;  // the feeds of subscriptions on log topics
  topic_directory directory;
  std::unique_ptr<topic_service> topics;
  std::unique_ptr<publish_service> publishing;
  std::unique_ptr<scheduler> schedule;  // delayed delivery: publishes held until due
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
  std::unique_ptr<membership> members;    // this node's registration, the live nodes
  bool leaving = false;                   // draining: the lease is being revoked
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
  ferry::error open_cluster();
  // What the services store their definitions in: the cluster's catalog in a cluster.
  broker::catalog& definitions() {
    return shared_catalog ? static_cast<broker::catalog&>(*shared_catalog) : *catalog;
  }
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
  ferry::error join_cluster();
  ferry::error sync_topics();
  void after(int64_t ms, std::function<void()> fn);
  readiness ready() const;
  void accept(std::unique_ptr<transport> stream);
  void tick();
  void watch_storage();
  void log_summary();
  void begin_stop();
  void wait_drained();
};

}  // namespace ferry::broker
