// controller_election: which node is the cluster's controller, the one that will decide
// partition leadership (docs/CLUSTER.md, section 5).
//
// A registered node campaigns by creating <prefix>/controller under its own lease (a
// transaction on create_revision == 0): at most one node holds the key, and it loses it
// when its lease expires or is revoked. The key's create revision is the controller
// epoch: etcd's revisions only grow, so every new controller has a larger epoch than every
// one before it, which is what will fence a deposed controller's decisions. Every node
// watches the key and campaigns again when it goes. Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>

#include "broker/cluster/etcd_client.h"
#include "broker/cluster/etcd_mirror.h"
#include "support/lifetime.h"

namespace ferry::broker {

class controller_election {
 public:
  using task = std::function<void()>;
  struct environment {
    etcd_client& etcd;
    std::function<void(int64_t ms, task)> after;  // `task` as a loop event, `ms` from now
    task changed;                                 // after a new controller is known
  };

  controller_election(environment env, std::string prefix, uint32_t self);
  ~controller_election();
  controller_election(const controller_election&) = delete;
  controller_election& operator=(const controller_election&) = delete;

  // This node's lease (a new registration's): it watches the key and campaigns under the
  // lease. 0: it left or lost its registration, and stops campaigning (the key, if it held
  // it, goes with the lease).
  void set_lease(int64_t lease);

  uint32_t controller() const { return controller_; }  // 0: none known
  int64_t epoch() const { return epoch_; }             // the key's create revision

  static std::string key(const std::string& prefix) { return prefix + "/controller"; }

 private:
  void campaign();
  void seen(const etcd_kv& kv);  // the key as read or watched
  void elected(uint32_t id, int64_t epoch);
  void gone();

  environment env_;
  std::string key_;
  uint32_t self_;
  int64_t lease_ = 0;
  uint32_t controller_ = 0;
  int64_t epoch_ = 0;
  bool campaigning_ = false;
  etcd_mirror watched_;  // the key, while this node has a lease
  lifetime_token lifetime_;
};

}  // namespace ferry::broker
