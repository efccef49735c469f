#include "broker/cluster/partition_controller.h"

#include "broker/cluster/controller_election.h"
#include "broker/cluster/placement.h"
#include "broker/core/log.h"

namespace ferry::broker {

partition_controller::partition_controller(environment env) : env_(std::move(env)) {}

void partition_controller::changed() {
  if (std::exchange(pending_, true)) return;
  env_.after(0, lifetime_.guard([this] {
    pending_ = false;
    review();
  }));
}

void partition_controller::review() {
  const auto& view = env_.view;
  if (view.controller() != view.node_id() || !view.registered()) return;
  std::set<uint32_t> live;
  for (const auto& [id, node] : view.nodes())
    live.insert(id);
  if (!live.contains(view.node_id())) return;  // the nodes have not been read yet
  for (const auto& [key, st] : view.partitions()) {
    if (deciding_.contains(key)) {
      skipped_ = true;  // reviewed again once that decision is answered
      continue;
    }
    if (auto next = next_leadership(st, live)) decide(key, st, *next);
  }
}

void partition_controller::decide(const std::pair<std::string, uint32_t>& key,
                                  const partition_state& now, const partition_state& next) {
  const std::string path = partition_key(env_.prefix, key.first, key.second);
  etcd_txn t;
  t.when.push_back(etcd_txn::compare::modified_at(path, now.revision));
  t.when.push_back(etcd_txn::compare::created_at(controller_election::key(env_.prefix),
                                                 env_.view.controller_epoch()));
  t.then.push_back(etcd_txn::op::put(path, encode_partition_state(next)));
  deciding_.insert(key);
  env_.etcd.txn(
      std::move(t), lifetime_.guard([this, key, now, next](std::string error, etcd_txn_result r) {
        deciding_.erase(key);
        if (std::exchange(skipped_, false)) changed();
        if (!error.empty()) {
          log::cluster().warn("partition {}/{}: etcd did not take the new leader: {}", key.first,
                              key.second, error);
          // Tried again a little later (a refused connection fails at once).
          return env_.after(etcd_retry_ms, lifetime_.guard([this] { changed(); }));
        }
        if (!r.succeeded) return;  // a newer state or controller: the watch brings it
        if (next.leader != now.leader) {
          log::cluster().info("partition {}/{}: leader {} -> {} (epoch {}), in sync: {} of {}",
                              key.first, key.second, now.leader, next.leader, next.leader_epoch,
                              next.isr.size(), next.replicas.size());
        } else {
          log::cluster().info("partition {}/{}: in sync now {} of {}", key.first, key.second,
                              next.isr.size(), next.replicas.size());
        }
      }));
}

}  // namespace ferry::broker
