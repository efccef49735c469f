// server_stop: the drain after SIGTERM, and ~server, which takes the subsystems down in
// an order that cannot dangle (docs/ARCHITECTURE.md, "Shutdown").
#include "broker/server/server_impl.h"

namespace ferry::broker {

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
  schedule->stop();    // what is scheduled stays stored for the next start
  websockets->stop();
  if (members) {  // other nodes see this one gone at once, not after its lease's TTL
    leaving = true;
    members->leave([this] { leaving = false; });
  }
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
  // Acks of shared subscriptions are answered once their state is written: waited for too.
  if (!closing_clients && port->in_flight() == 0 && catalog->in_flight() == 0 &&
      shares->settles_waiting() == 0) {
    closing_clients = true;
    for (auto& s : hub->all())
      s->shut_down();
  }
  const auto now_steady = std::chrono::steady_clock::now();
  if (closing_clients && hub->count() == 0 && websockets->connections() == 0 && !leaving) {
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

server::~server() {
  auto& i = *impl_;
  i.lis.reset();  // no new connections
  i.http.reset();
  i.members.reset();
  if (i.shared_catalog) i.shared_catalog->stop();
  i.etcd.reset();
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
  i.schedule.reset();  // before what it publishes through
  i.publishing.reset();
  i.topics.reset();
  i.security.reset();
  i.queues.reset();  // before the log topics its shared subscriptions read
  i.shares.reset();
  i.groups.reset();
  i.logs.reset();
  i.shared_catalog.reset();
  i.catalog.reset();
  i.port.reset();  // every acknowledged write is on disk before RocksDB closes
  i.engine.reset();
}

}  // namespace ferry::broker
