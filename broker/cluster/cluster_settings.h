// cluster_settings: how a ferryd finds etcd and names itself in a cluster
// (docs/CLUSTER.md). No etcd endpoints: a single node, and nothing of broker/cluster/ runs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace ferry::broker {

struct cluster_settings {
  std::string etcd;      // comma-separated etcd endpoints (http://HOST:PORT); empty = no cluster
  uint32_t node_id = 0;  // this node's id in the cluster, unique among its nodes
  bool node_id_from_hostname = false;  // node_id is the host name's ordinal + 1 (StatefulSet)
  std::string advertise;  // HOST:PORT clients and other nodes reach it at; empty = net.listen's
  std::string prefix = "/ferry";    // where the cluster's keys live in etcd
  int64_t lease_ttl_s = 2;          // a node silent this long is gone (its lease expires)
  int64_t etcd_timeout_ms = 1000;   // one etcd call, per endpoint tried
  int64_t join_timeout_ms = 30000;  // how long start() keeps trying to register

  bool enabled() const { return !etcd.empty(); }
};

struct etcd_endpoint {
  std::string host;
  std::string port;
};

// cluster.etcd split at commas, each http://HOST:PORT or HOST:PORT ([V6]:PORT too); an
// error message naming the first that is not.
std::string parse_etcd_endpoints(std::string_view list, std::vector<etcd_endpoint>& out);

// The node id of a host named as a Kubernetes StatefulSet names its pods: NAME-ORDINAL
// is node ORDINAL + 1 ("ferryd-0" is node 1); an error message when `host` is not so named.
std::string node_id_of_hostname(std::string_view host, uint32_t& id);

}  // namespace ferry::broker
