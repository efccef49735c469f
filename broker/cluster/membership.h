// membership: this node's registration in etcd, kept alive, and the live nodes it sees.
//
// A node registers as <prefix>/nodes/<id> under a lease of cluster.lease_ttl_s, renewed
// every third of it; a node that stops renewing (killed, cut off) disappears when the lease
// expires. The key is created only if absent (a transaction), so two live nodes cannot hold
// one id; the value names the node's incarnation (node_identity: kept in its data dir), so
// a node restarted after kill -9 recognises its own stale key and takes it over at once,
// while another data dir claiming the id waits for that key to expire, and fails to start
// if it does not.
//
// registered() is conservative: a renewal's answer extends it to when that renewal was
// sent plus the TTL, so it turns false no later than etcd expires the lease; then the node
// registers again once etcd answers. Every node mirrors <prefix>/nodes/ into nodes()
// (etcd_mirror), takes part in the controller election under its lease
// (controller_election), mirrors the log topic partitions' placement and leadership
// (partition_table), and while it is the controller moves leadership off dead nodes
// (partition_controller). Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>

#include "broker/cluster/cluster_settings.h"
#include "broker/cluster/cluster_view.h"
#include "broker/cluster/controller_election.h"
#include "broker/cluster/etcd_client.h"
#include "broker/cluster/etcd_mirror.h"
#include "broker/cluster/partition_controller.h"
#include "broker/cluster/partition_table.h"
#include "broker/core/clock.h"
#include "support/lifetime.h"

namespace ferry::broker {

class membership final : public cluster_view {
 public:
  using task = std::function<void()>;
  struct environment {
    etcd_client& etcd;
    loop_clock& now;
    std::function<void(int64_t ms, task)> after;  // `task` as a loop event, `ms` from now
  };

  // `self`: this node (its id, advertised address and incarnation).
  membership(environment env, cluster_settings settings, cluster_node self);
  ~membership() override;
  membership(const membership&) = delete;
  membership& operator=(const membership&) = delete;

  // Registers this node, trying until cluster.join_timeout_ms is over; `done` runs once
  // (an empty error: registered). From then on the lease is kept alive and the nodes
  // watched, until leave().
  void join(std::function<void(std::string error)> done);
  // Revokes the lease: the node leaves the cluster at once. `done` runs once it is gone
  // or etcd did not answer.
  void leave(task done);

  // cluster_view
  uint32_t node_id() const override { return self_.id; }
  bool registered() const override;
  const std::map<uint32_t, cluster_node>& nodes() const override { return nodes_; }
  uint32_t controller() const override { return election_.controller(); }
  int64_t controller_epoch() const override { return election_.epoch(); }
  const partition_map& partitions() const override { return partitions_.partitions(); }

  // Why not registered ("" when it is).
  std::string state() const;
  // `fn` runs (as a loop event, once for several changes) after the partitions change.
  void on_partitions_changed(task fn) { partitions_listener_ = std::move(fn); }

 private:
  void try_register(int64_t deadline_ms, std::function<void(std::string)> done);
  // `sent`: when the lease was asked for (steady ms).
  void claim(int64_t lease, int64_t sent, int64_t deadline_ms,
             std::function<void(std::string)> done);
  void retry(std::string why, int64_t deadline_ms, std::function<void(std::string)> done);
  void registered_now(int64_t lease, int64_t valid_until_ms);
  void renew();
  void lost(std::string why);
  void nodes_read(const std::vector<etcd_kv>& kvs);
  void apply(const etcd_kv& kv, bool erased);
  void partitions_changed();

  environment env_;
  cluster_settings settings_;
  cluster_node self_;
  std::string key_;
  std::string value_;
  int64_t lease_ = 0;
  int64_t valid_until_ms_ = 0;  // steady ms: the lease may have expired from then on
  std::string state_ = "not registered yet";
  std::map<uint32_t, cluster_node> nodes_;
  etcd_mirror watched_;              // <prefix>/nodes/, from join() until leave()
  partition_controller leadership_;  // decides partition leaders while this node controls
  controller_election election_;     // campaigns under this node's lease
  partition_table partitions_;       // <prefix>/partitions/, from join() until leave()
  task partitions_listener_;
  bool partitions_pending_ = false;
  lifetime_token lifetime_;
};

}  // namespace ferry::broker
