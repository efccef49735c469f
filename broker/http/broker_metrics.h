// broker_metrics: one /metrics source per subsystem, each reading that subsystem's probe
// (docs/ARCHITECTURE.md, "Probes and logs") and, for per-topic series, the service
// layer's descriptions (the same numbers the admin API shows). Every metric name ferryd
// exposes is written in broker_metrics.cpp and nowhere else; README.md lists them and a
// test holds the list to a real scrape.
//
// Per-topic series (topics, their subscriptions, partitions and groups) are named one by
// one for the first `max_topics` by name; the rest are summed into series labelled
// "~other", so a broker with 100k topics still answers a scrape quickly.
#pragma once

#include <cstddef>
#include <functional>
#include <string>

#include "broker/http/http_server.h"
#include "broker/http/metrics.h"
#include "storage/engine.h"
#include "storage/group_committer.h"

namespace ferry::broker {

class group_coordinator;
class group_service;
class log_registry;
class memory_accountant;
class pipeline;
class queue_registry;
class session_hub;
class topic_service;
struct net_probe;
class scheduler;
class cluster_view;

void add_net_metrics(metrics_registry& reg, const net_probe& net, const pipeline& requests,
                     const session_hub& sessions, const http_server& http);
void add_topic_metrics(metrics_registry& reg, const topic_service& topics,
                       const queue_registry& queues, const log_registry& logs, size_t max_topics);
void add_group_metrics(metrics_registry& reg, group_service& groups,
                       const group_coordinator& coordinator, size_t max_topics);
// `storage_stopped`: whether publishing is flow-blocked by a RocksDB write stop.
void add_storage_metrics(metrics_registry& reg, std::function<storage::commit_stats()> commits,
                         std::function<storage::storage_health()> health,
                         const memory_accountant& memory);
void add_process_metrics(metrics_registry& reg, std::string version);
// Delayed delivery: messages waiting in the schedule, and how late releases were.
void add_schedule_metrics(metrics_registry& reg, const scheduler& schedule);
// The cluster as this node sees it; `cluster` answers null without cluster.etcd (or before
// the node has joined).
void add_cluster_metrics(metrics_registry& reg, std::function<const cluster_view*()> cluster);

}  // namespace ferry::broker
