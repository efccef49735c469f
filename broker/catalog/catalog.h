// catalog: the broker's definitions (topics, subscriptions, consumer groups and their
// committed offsets) behind one metadata interface.
//
// A change is a catalog_batch: typed edits, applied atomically and durably, optionally
// guarded by compare-and-swap preconditions (a key's revision, 0 = absent). Applied
// The broker changes its in-memory state first (so a request pipelined after CreateTopic
// already finds the topic), applies the batch, and answers the client once it is durable
// (undoing the change if it failed). Changes made elsewhere (by another node of a
// cluster) come to watchers, marked from_cluster, for the broker to apply the same way.
//
// Implementations: meta_catalog (RocksDB's meta column family, this node the only
// writer: nothing is made elsewhere); cluster_catalog (broker/cluster/: topic
// definitions in etcd, shared by the nodes of a cluster). Loop only, except where a
// method says otherwise.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/security.pb.h"

#include "proto/codec/errc.h"
#include "storage/meta_store.h"

namespace ferry::broker {

// Typed edits of the catalog, encoded as meta records (storage/meta_keys.h).
class catalog_batch {
 public:
  struct precondition {
    std::string key;
    uint64_t revision = 0;  // the key's current revision must be this; 0 = must be absent
  };

  // `t` as stored: name, kind, options, topic id (counters and statistics are not stored).
  void put_topic(const v1::TopicInfo& t);
  void erase_topic(std::string_view name);
  // `s` as stored: name, pattern, and the options as the client asked for them.
  void put_subscription(const v1::SubscriptionInfo& s);
  void erase_subscription(std::string_view name);
  // A shared subscription's delivery state of one partition (broker/shares/), written with
  // its definition when it is created; erased with it, for partitions [0, partitions).
  void put_share_state(std::string_view subscription, uint32_t partition, std::string state);
  void erase_share_state(std::string_view subscription, uint32_t partitions);
  // The group's record, naming the topic it reads (written with every commit).
  void put_group(std::string_view group, std::string_view topic);
  // A committed offset of a group.
  void put_offset(std::string_view group, uint32_t partition, uint64_t offset);
  // The group's record and the committed offsets of `partitions`.
  void erase_group(std::string_view group, const std::vector<uint32_t>& partitions);
  void put_next_topic_id(uint32_t next);
  // Users, tokens and access rules (broker/security/).
  void put_user(const v1::UserRecord& u);
  void erase_user(std::string_view name);
  void put_token(const v1::TokenRecord& t);
  void erase_token(std::string_view id);
  void put_acl(std::string_view rule_id, const v1::AclRule& rule);
  void erase_acl(std::string_view rule_id);

  // Compare-and-swap: the batch applies only if the topic / subscription is absent.
  void expect_no_topic(std::string_view name);
  void expect_no_subscription(std::string_view name);

  // The batch applies a change another node made, already stored in the cluster's
  // metadata: it is stored on this node only.
  void mark_from_cluster() { from_cluster_ = true; }
  bool from_cluster() const { return from_cluster_; }

  // Drops the batch's puts and preconditions, keeping its erasures (the part of a refused
  // change the broker does not undo); false if none is left.
  bool keep_erasures();

  bool empty() const { return changes_.empty(); }
  const std::vector<storage::meta_change>& changes() const { return changes_; }
  const std::vector<precondition>& preconditions() const { return preconditions_; }

 private:
  std::vector<storage::meta_change> changes_;
  std::vector<precondition> preconditions_;
  bool from_cluster_ = false;
};

// The topic edits of `b`, in order: `def` is the stored definition of a put (name, kind,
// options), nullptr for an erasure. A put whose record does not parse is skipped.
void for_each_topic_change(
    const catalog_batch& b,
    const std::function<void(std::string_view name, const v1::TopicInfo* def)>& fn);

// Everything stored, as load() finds it.
struct catalog_snapshot {
  struct group {
    std::string name;
    std::string topic;
    std::map<uint32_t, uint64_t> offsets;
  };
  std::vector<v1::TopicInfo> topics;                // in name order
  std::vector<v1::SubscriptionInfo> subscriptions;  // in name order
  std::vector<group> groups;                        // in name order
  uint32_t next_topic_id = 1;
  std::vector<v1::UserRecord> users;    // in name order
  std::vector<v1::TokenRecord> tokens;  // in id order
  std::vector<v1::AclRule> acls;        // in rule id order
};

class catalog {
 public:
  using done_fn = std::function<void(const ferry::error&)>;
  using watch_fn = std::function<void(const catalog_batch&, uint64_t revision)>;

  virtual ~catalog() = default;

  // Reads every definition (blocking: at start, before the broker serves). An unreadable
  // record is STORAGE_ERROR naming its key.
  virtual ferry::error load(catalog_snapshot& out) = 0;
  // A topic id never handed out before; `b` records the allocation, so the id is not
  // reused after a restart even when the topic is deleted.
  virtual uint32_t allocate_topic_id(catalog_batch& b) = 0;
  // Applies `b` atomically and durably; `done` runs on the loop with the outcome. A failed
  // precondition applies nothing and fails with TOPIC_EXISTS / SUBSCRIPTION_EXISTS. An
  // empty batch completes at once.
  virtual void apply(catalog_batch b, done_fn done) = 0;
  // `fn` runs on the loop with each change made elsewhere from now on (another node's,
  // marked from_cluster), with the revision it was made at: the broker applies it to its
  // state and stores it through apply(). A single node's catalog never calls it. Returns
  // an id for unwatch().
  virtual uint64_t watch(watch_fn fn) = 0;
  virtual void unwatch(uint64_t id) = 0;
};

}  // namespace ferry::broker
