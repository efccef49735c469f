// cluster_catalog: the catalog of a node in a cluster (docs/CLUSTER.md, section 2). Topic
// definitions are the cluster's: they live in etcd as <prefix>/topics/<name> (JSON: name,
// kind, options), so a name means one topic on every node. Everything else
// (subscriptions, consumer groups and their offsets, users, tokens, rules, and the topic
// ids that key this node's records) stays in the node's own catalog, `local`.
//
// apply(): a batch that puts or erases topics writes them to etcd first, in one
// transaction guarded by the batch's topic preconditions (a creation requires the name
// absent, so of two creations on any nodes one fails with TOPIC_EXISTS), with a new log
// topic's partitions placed over the live nodes (placement.h) as
// <prefix>/partitions/<name>/<p>, erased with it; then applies the whole batch to `local`. A batch
// marked from_cluster, or without topic edits, goes to `local` only.
//
// watch(): the topic changes of other nodes, marked from_cluster. Once started, the
// catalog mirrors <prefix>/topics/ (etcd_mirror) and compares what it reads with what
// this node has: the first read (and a re-read after a broken watch) announces only the
// difference (topics created, replaced or deleted meanwhile), so a node that was away
// catches up; each event after it is announced as it comes. This node's own writes are
// not announced back: an event at or below the revision this node last knew of the name
// is skipped, and events of a name this node is writing wait until that write is stored
// here too (or refused).
// Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "broker/catalog/catalog.h"
#include "broker/cluster/cluster_view.h"
#include "broker/cluster/etcd_client.h"
#include "broker/cluster/etcd_mirror.h"
#include "support/lifetime.h"

namespace ferry::broker {

class cluster_catalog final : public catalog {
 public:
  using task = std::function<void()>;
  struct environment {
    etcd_client& etcd;
    std::function<void(int64_t ms, task)> after;  // `task` as a loop event, `ms` from now
  };

  // `prefix`: cluster.prefix.
  cluster_catalog(environment env, catalog& local, const std::string& prefix);
  ~cluster_catalog() override;
  cluster_catalog(const cluster_catalog&) = delete;
  cluster_catalog& operator=(const cluster_catalog&) = delete;

  // catalog
  ferry::error load(catalog_snapshot& out) override;
  uint32_t allocate_topic_id(catalog_batch& b) override { return local_.allocate_topic_id(b); }
  void apply(catalog_batch b, done_fn done) override;
  uint64_t watch(watch_fn fn) override;
  void unwatch(uint64_t id) override;

  // The live nodes new partitions are placed on (set once the node has joined).
  void set_view(const cluster_view* view) { view_ = view; }

  // Follows etcd's topics from now on (after the node has registered); synced() once
  // the first read has been announced.
  void start();
  void stop();
  bool synced() const { return synced_; }

 private:
  // What this node knows of one topic name in etcd.
  struct name_state {
    int64_t revision = 0;  // the name's mod revision as last written or seen; 0 unknown
    bool present = false;
    uint32_t writing = 0;             // this node's transactions on the name in flight
    std::vector<etcd_event> waiting;  // events that came meanwhile
  };
  // (name, true for a put / false for an erasure) of each topic edit of a batch.
  using edits = std::vector<std::pair<std::string, bool>>;

  void write_topic(const std::string& name, const std::optional<std::string>& record,
                   etcd_txn& t) const;
  void written(const edits& e, int64_t revision);
  void forget(const edits& e);
  void reset(const std::vector<etcd_kv>& kvs);
  void changed(const etcd_event& e);
  // Adds `kv`'s definition to `b`; false (logged) when it does not decode.
  bool add_put(catalog_batch& b, const etcd_kv& kv) const;
  void announce(catalog_batch b, int64_t revision);

  environment env_;
  catalog& local_;
  std::string topics_;  // <prefix>/topics/
  std::string prefix_;  // cluster.prefix (the partitions' keys: placement.h)
  const cluster_view* view_ = nullptr;
  std::map<std::string, name_state, std::less<>> names_;
  std::map<uint64_t, watch_fn> watchers_;
  uint64_t next_watch_ = 1;
  bool synced_ = false;
  etcd_mirror mirror_;
  lifetime_token lifetime_;
};

}  // namespace ferry::broker
