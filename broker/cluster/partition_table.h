// partition_table: every log topic partition's placement and leadership, mirrored from
// etcd's <prefix>/partitions/<topic>/<p> keys (etcd_mirror: read, watched, read again when
// the watch breaks). Owned by membership, which serves it through cluster_view. A key
// whose value does not decode is logged and left out. Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "broker/cluster/cluster_view.h"
#include "broker/cluster/etcd_mirror.h"

namespace ferry::broker {

class partition_table {
 public:
  // `prefix`: cluster.prefix; `on_change` runs after a partition's state is read anew.
  partition_table(etcd_client& etcd, std::function<void(int64_t, etcd_mirror::task)> after,
                  const std::string& prefix, std::function<void()> on_change);

  void start() { mirror_.start(); }
  void stop() { mirror_.stop(); }
  const partition_map& partitions() const { return partitions_; }

 private:
  void reset(const std::vector<etcd_kv>& kvs);
  void changed(const etcd_event& e);

  std::string prefix_;  // <prefix>/partitions/
  std::function<void()> changed_;
  partition_map partitions_;
  etcd_mirror mirror_;
};

}  // namespace ferry::broker
