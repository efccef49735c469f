// etcd_client: etcd's v3 API through its JSON gateway: an HTTP/1.1 POST of a JSON body to
// /v3/..., keys and values base64, int64 fields as strings, fields at their default value
// left out. Chosen over gRPC (docs/CLUSTER.md): no new C++ dependency, one connection type,
// and the broker makes few calls (leases, transactions, ranges, watches).
//
// Unary calls go one at a time, in the order made, over one keep-alive connection, each
// under `timeout_ms`; a call whose connection fails (refused, reset, no answer in time) is
// tried on the next endpoint, once per endpoint, before it fails. A watch is a long
// chunked answer on a connection of its own. No Asio, Beast or JSON in this header. Loop
// only; callbacks run on the loop and never after close().
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "broker/cluster/cluster_settings.h"
#include "broker/cluster/etcd_types.h"

namespace boost::asio {
class io_context;
}

namespace ferry::broker {

// How long the cluster's parts wait before trying etcd again after it did not answer (a
// refused connection fails at once: without a pause a retry would spin).
inline constexpr int64_t etcd_retry_ms = 250;

class etcd_client {
 public:
  // `error` empty: the call succeeded.
  using grant_fn = std::function<void(std::string error, int64_t lease, int64_t ttl_s)>;
  using keep_alive_fn = std::function<void(std::string error, int64_t ttl_s)>;  // 0: expired
  using done_fn = std::function<void(std::string error)>;
  using range_fn =
      std::function<void(std::string error, std::vector<etcd_kv> kvs, int64_t revision)>;
  using txn_fn = std::function<void(std::string error, etcd_txn_result r)>;
  using events_fn = std::function<void(std::vector<etcd_event> events, int64_t revision)>;

  // `endpoints`: each etcd member's (parse_etcd_endpoints); at least one.
  etcd_client(boost::asio::io_context& ioc, std::vector<etcd_endpoint> endpoints,
              int64_t timeout_ms);
  ~etcd_client();
  etcd_client(const etcd_client&) = delete;
  etcd_client& operator=(const etcd_client&) = delete;

  void grant(int64_t ttl_s, grant_fn done);
  void keep_alive(int64_t lease, keep_alive_fn done);
  void revoke(int64_t lease, done_fn done);
  void range(std::string key, bool prefix, range_fn done);
  void txn(etcd_txn t, txn_fn done);

  // Events of `key` (with `prefix`: of every key starting with it) from `start_revision`
  // on, as etcd sends them; when the stream ends (etcd gone, compacted past
  // start_revision, close()), `ended` runs once with why, and nothing after it: the
  // watcher reads the range again and watches anew (etcd_mirror does). Returns an id for
  // cancel_watch.
  uint64_t watch(std::string key, bool prefix, int64_t start_revision, events_fn events,
                 done_fn ended);
  void cancel_watch(uint64_t id);  // no callback after it

  // Drops every call and watch under way, without their callbacks.
  void close();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace ferry::broker
