// etcd_mirror: keeps a view of a key (or of every key under a prefix) in step with etcd.
// It reads the keys (`reset` with all of them), then watches from the revision after that
// read (`changed` per event); when the watch ends (etcd gone, the revision compacted), it
// pauses, reads again and watches anew, so a change is seen late but never missed. Used
// by membership (the nodes) and controller_election (the controller key). Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "broker/cluster/etcd_client.h"
#include "support/lifetime.h"

namespace ferry::broker {

class etcd_mirror {
 public:
  using task = std::function<void()>;
  using reset_fn = std::function<void(const std::vector<etcd_kv>& kvs)>;
  using changed_fn = std::function<void(const etcd_event& e)>;

  etcd_mirror(etcd_client& etcd, std::function<void(int64_t ms, task)> after, std::string key,
              bool prefix, reset_fn reset, changed_fn changed);
  ~etcd_mirror();
  etcd_mirror(const etcd_mirror&) = delete;
  etcd_mirror& operator=(const etcd_mirror&) = delete;

  void start();  // nothing if started
  void stop();   // no callback after it
  bool started() const { return started_; }

 private:
  void read();
  void again(const char* what, const std::string& why);

  etcd_client& etcd_;
  std::function<void(int64_t, task)> after_;
  std::string key_;
  bool prefix_;
  reset_fn reset_;
  changed_fn changed_;
  bool started_ = false;
  uint64_t generation_ = 0;  // a start's callbacks are ignored after a stop
  uint64_t watch_id_ = 0;
  lifetime_token lifetime_;
};

}  // namespace ferry::broker
