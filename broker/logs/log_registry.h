// log_registry: the log topics of the broker (the topic_family of kind LOG).
//
// Owns the log topics; gives each a topic id from the catalog (never reused), checks
// their options, runs their timers (fsync interval, retention). Loop only.
#pragma once

#include <map>
#include <memory>
#include <string>

#include "broker/catalog/catalog.h"
#include "broker/cluster/cluster_view.h"
#include "broker/core/clock.h"
#include "broker/logs/log_settings.h"
#include "broker/logs/log_topic.h"
#include "broker/topics/topic_family.h"

namespace ferry::broker {

class log_registry final : public topic_family {
 public:
  // Without a port (memory-only unit tests), creating a log topic is NOT_SUPPORTED.
  log_registry(const loop_clock& clock, log_settings settings, catalog& cat, log_port* port);
  ~log_registry();

  const log_settings& settings() const { return settings_; }
  const log_probe& probe() const { return probe_; }

  // The log topics of a catalog snapshot, each with its partitions' bounds and producers
  // from `store` (blocking: at start only).
  ferry::error recover(const catalog_snapshot& snap, storage::log_store* store);

  // topic_family
  v1::TopicKind kind() const override { return v1::LOG; }
  log_topic* find(std::string_view name) override;
  ferry::error create(const v1::CreateTopic& req, uint64_t owner_session, const topic* other_kind,
                      v1::TopicInfo& info, catalog_batch& b) override;
  // Cancels the topic's readers and removes its records from storage.
  void remove(std::string_view name, catalog_batch& b) override;
  void for_each(const std::function<void(const topic&)>& fn) const override;

  // The timers of every log topic.
  void tick();

  // In a cluster (`c` not null), a partition takes publishes only on the node that leads
  // it; the others refuse them with NOT_LEADER naming the leader (docs/CLUSTER.md,
  // section 4), and only while its registration in etcd is current (a node cut off from
  // etcd stops taking publishes within its lease: the controller may have moved its
  // partitions). Applied to every topic now and to each one created later; again by
  // leadership_changed() after the cluster's partitions change, and by tick() when the
  // registration lapses or returns.
  void set_cluster(const cluster_view* c);
  void leadership_changed();

 private:
  ferry::error check_options(const v1::TopicOptions& o) const;
  void apply_leadership(log_topic& t) const;
  // Why partition `p` of `topic` takes no publishes here; empty when it does.
  std::string not_led_here(const std::string& topic, uint32_t p) const;

  const loop_clock& clock_;
  log_settings settings_;
  catalog& catalog_;
  log_port* port_;
  log_probe probe_;
  const cluster_view* cluster_ = nullptr;
  bool registered_ = false;  // cluster_->registered() as of the last tick
  std::map<std::string, std::unique_ptr<log_topic>, std::less<>> topics_;
};

}  // namespace ferry::broker
