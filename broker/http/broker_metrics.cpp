#include "broker/http/broker_metrics.h"

#include <filesystem>
#include <fstream>

#include <unistd.h>

#include "broker/cluster/cluster_view.h"
#include "broker/groups/group_coordinator.h"
#include "broker/logs/log_registry.h"
#include "broker/net/net_probe.h"
#include "broker/protocol/pipeline.h"
#include "broker/queues/queue_registry.h"
#include "broker/schedule/scheduler.h"
#include "broker/services/group_service.h"
#include "broker/services/topic_service.h"
#include "broker/session/session_hub.h"

namespace ferry::broker {

namespace pm = prometheus;

namespace {

// No topic, subscription or group can be named so (`~` is not a name character).
constexpr const char* other = "~other";

double d(uint64_t v) {
  return static_cast<double>(v);
}

// The label value of the i-th name (in name order): itself within the cap, else "~other".
std::string capped(const std::string& name, size_t i, size_t cap) {
  return i < cap ? name : other;
}

bool overflow(const metric_labels& labels) {
  for (const auto& l : labels)
    if (l.value == other) return true;
  return false;
}

// Adds a series; one past the cap ("~other") is summed into the one with the same labels.
// Those come last (names are in order), so the search stops at the first named series.
void sum_into(pm::MetricFamily& f, const metric_labels& labels, double value) {
  if (overflow(labels))
    for (auto it = f.metric.rbegin(); it != f.metric.rend() && overflow(it->label); ++it)
      if (it->label == labels) {
        (f.type == pm::MetricType::Counter ? it->counter.value : it->gauge.value) += value;
        return;
      }
  metric_set::add(f, value, labels);
}

// What the net source copies on the loop.
struct net_snapshot {
  net_probe net;
  std::vector<std::pair<std::string_view, uint64_t>> requests;  // names: the route table's
  size_t sessions = 0;
  http_probe http;
  size_t http_connections = 0;
};

void net_source(metric_set& s, const net_snapshot& snap) {
  const auto& net = snap.net;
  s.gauge("ferry_connections", "Wire-protocol connections open now.", d(snap.sessions));
  s.counter("ferry_connections_accepted_total", "Wire-protocol connections accepted.",
            d(net.connections_accepted));
  s.counter("ferry_connections_refused_total",
            "Wire-protocol connections refused at limits.max_connections.",
            d(net.connections_refused));
  s.counter("ferry_frames_received_total", "Frames received.", d(net.frames_in));
  s.counter("ferry_frames_sent_total", "Frames sent.", d(net.frames_out));
  s.counter("ferry_received_bytes_total", "Bytes received on wire-protocol connections.",
            d(net.bytes_in));
  s.counter("ferry_sent_bytes_total", "Bytes sent on wire-protocol connections.", d(net.bytes_out));
  s.counter("ferry_slow_consumers_closed_total",
            "Connections closed for a write timeout or too much unread output.",
            d(net.slow_consumers));
  auto& kinds = s.counter("ferry_requests_total", "Wire-protocol requests, by kind.");
  kinds.metric.reserve(snap.requests.size());
  for (const auto& [name, n] : snap.requests)
    metric_set::add(kinds, d(n), {{"kind", std::string(name)}});
  const auto& hp = snap.http;
  s.gauge("ferry_http_connections", "HTTP connections open now.", d(snap.http_connections));
  s.counter("ferry_http_requests_total", "HTTP requests handled.", d(hp.requests));
  s.counter("ferry_http_bad_requests_total",
            "HTTP requests refused unparsed: malformed, over a limit or timed out.",
            d(hp.bad_requests));
  s.counter("ferry_http_connections_refused_total",
            "HTTP connections refused at http.max_connections.", d(hp.connections_refused));
}

void topic_series(metric_set& s, const v1::TopicList& list, size_t cap) {
  auto& published = s.counter("ferry_topic_messages_published_total",
                              "Messages published to a topic (accepted).");
  auto& bytes =
      s.counter("ferry_topic_published_bytes_total", "Bytes of the messages published to a topic.");
  auto& scheduled = s.gauge("ferry_topic_scheduled_messages",
                            "Delayed messages waiting for their due time, per topic.");
  auto& end = s.gauge("ferry_log_end_offset", "The next offset a log partition writes.");
  auto& start = s.gauge("ferry_log_start_offset", "The oldest offset a log partition keeps.");
  auto& kept = s.gauge("ferry_log_partition_bytes", "Bytes a log partition keeps (approximate).");
  published.metric.reserve(static_cast<size_t>(list.topics_size()));
  bytes.metric.reserve(static_cast<size_t>(list.topics_size()));
  for (int i = 0; i < list.topics_size(); ++i) {
    const auto& t = list.topics(i);
    const std::string name = capped(t.name(), static_cast<size_t>(i), cap);
    const std::string kind = t.kind() == v1::LOG ? "log" : "memory";
    sum_into(published, {{"topic", name}, {"kind", kind}}, d(t.messages_published()));
    sum_into(bytes, {{"topic", name}, {"kind", kind}}, d(t.bytes_published()));
    sum_into(scheduled, {{"topic", name}, {"kind", kind}}, d(t.scheduled()));
    for (const auto& p : t.partitions()) {
      metric_labels l{{"topic", name},
                      {"partition", name == other ? other : std::to_string(p.partition())}};
      sum_into(end, l, d(p.log_end()));
      sum_into(start, l, d(p.log_start()));
      sum_into(kept, l, d(p.bytes()));
    }
  }
}

// Push subscriptions: what their endpoints answered (PushStats).
void push_series(metric_set& s, const v1::SubscriptionList& list, size_t cap) {
  auto& requests = s.counter("ferry_push_requests_total",
                             "Requests to push endpoints, by outcome: succeeded (2xx) or failed.");
  auto& in_flight =
      s.gauge("ferry_push_requests_in_flight", "Requests to push endpoints under way.");
  auto& latency = s.counter("ferry_push_latency_seconds_total",
                            "Time push endpoints took to answer, summed over the answers.");
  auto& answered =
      s.counter("ferry_push_answered_total", "Answers from push endpoints, of any status.");
  for (int i = 0; i < list.subscriptions_size(); ++i) {
    const auto& sub = list.subscriptions(i);
    if (!sub.options().has_push()) continue;
    const std::string name = capped(sub.name(), static_cast<size_t>(i), cap);
    const auto& p = sub.push();
    sum_into(requests, {{"subscription", name}, {"outcome", "succeeded"}}, d(p.succeeded()));
    sum_into(requests, {{"subscription", name}, {"outcome", "failed"}}, d(p.failed()));
    sum_into(in_flight, {{"subscription", name}}, p.in_flight());
    sum_into(latency, {{"subscription", name}}, d(p.latency_us_total()) / 1e6);
    sum_into(answered, {{"subscription", name}}, d(p.answered()));
  }
}

void subscription_series(metric_set& s, const v1::SubscriptionList& list, size_t cap) {
  using get = uint64_t (v1::SubscriptionInfo::*)() const;
  struct row {
    pm::MetricFamily* f;
    get value;
  };
  auto gauge = [&](const char* n, const char* h, get g) { return row{&s.gauge(n, h), g}; };
  auto counter = [&](const char* n, const char* h, get g) { return row{&s.counter(n, h), g}; };
  const row rows[] = {
      gauge("ferry_subscription_messages_ready", "Messages waiting for a consumer.",
            &v1::SubscriptionInfo::ready),
      gauge("ferry_subscription_ready_bytes", "Bytes of the messages waiting for a consumer.",
            &v1::SubscriptionInfo::ready_bytes),
      gauge("ferry_subscription_messages_unacked", "Messages delivered and not yet settled.",
            &v1::SubscriptionInfo::unacked),
      counter("ferry_subscription_messages_delivered_total", "Deliveries, redeliveries included.",
              &v1::SubscriptionInfo::delivered),
      counter("ferry_subscription_messages_acked_total", "Messages acked.",
              &v1::SubscriptionInfo::acked),
      counter("ferry_subscription_messages_nacked_total", "Nacks accepted.",
              &v1::SubscriptionInfo::nacked),
      counter("ferry_subscription_messages_redelivered_total", "Redeliveries.",
              &v1::SubscriptionInfo::redelivered),
      counter("ferry_subscription_messages_dead_lettered_total",
              "Messages moved to the dead-letter topic.", &v1::SubscriptionInfo::dead_lettered),
      counter("ferry_subscription_messages_dropped_total",
              "Messages removed without a dead-letter topic to go to.",
              &v1::SubscriptionInfo::dropped),
      counter("ferry_subscription_messages_expired_total", "Messages whose TTL passed.",
              &v1::SubscriptionInfo::expired),
      counter("ferry_subscription_delivered_bytes_total",
              "Bytes of the deliveries, redeliveries included.",
              &v1::SubscriptionInfo::delivered_bytes),
      counter("ferry_subscription_acked_bytes_total", "Bytes of the messages acked.",
              &v1::SubscriptionInfo::acked_bytes),
      counter("ferry_subscription_dead_lettered_bytes_total",
              "Bytes of the messages moved to the dead-letter topic.",
              &v1::SubscriptionInfo::dead_lettered_bytes),
      counter("ferry_subscription_dropped_bytes_total",
              "Bytes of the messages removed without a dead-letter topic to go to.",
              &v1::SubscriptionInfo::dropped_bytes),
      counter("ferry_subscription_expired_bytes_total", "Bytes of the messages whose TTL passed.",
              &v1::SubscriptionInfo::expired_bytes),
  };
  auto& consumers = s.gauge("ferry_subscription_consumers", "Consumers attached.");
  for (const auto& r : rows)
    r.f->metric.reserve(static_cast<size_t>(list.subscriptions_size()));
  consumers.metric.reserve(static_cast<size_t>(list.subscriptions_size()));
  for (int i = 0; i < list.subscriptions_size(); ++i) {
    const auto& sub = list.subscriptions(i);
    const metric_labels l{{"subscription", capped(sub.name(), static_cast<size_t>(i), cap)}};
    for (const auto& r : rows)
      sum_into(*r.f, l, d((sub.*r.value)()));
    sum_into(consumers, l, sub.consumers());
  }
  push_series(s, list, cap);
}

void queue_totals(metric_set& s, const queue_probe& q) {
  s.counter("ferry_memory_messages_published_total", "Messages accepted by memory topics.",
            d(q.messages_published));
  s.counter("ferry_memory_published_bytes_total", "Bytes accepted by memory topics.",
            d(q.bytes_published));
  s.counter("ferry_memory_messages_refused_total", "Messages refused by memory topics.",
            d(q.messages_refused));
  s.counter("ferry_memory_duplicates_total", "Idempotent retries not enqueued again.",
            d(q.duplicates));
  s.counter("ferry_memory_dead_letters_dropped_total",
            "Dead letters dropped (their dead-letter topic was gone or refused them).",
            d(q.dead_letters_dropped));
}

void log_totals(metric_set& s, const log_probe& l) {
  s.counter("ferry_log_records_appended_total", "Log records made durable.", d(l.records_appended));
  s.counter("ferry_log_appended_bytes_total", "Bytes of the log records made durable.",
            d(l.bytes_appended));
  s.counter("ferry_log_write_failures_total", "Partition writes that failed.", d(l.write_failures));
  s.counter("ferry_log_records_refused_total", "Messages refused by log topics.",
            d(l.records_refused));
  s.counter("ferry_log_storage_reads_total", "Reads from storage for readers behind the cache.",
            d(l.storage_reads));
  s.counter("ferry_log_records_read_total", "Log records delivered to readers.", d(l.records_read));
  metric_set::add(s.histogram_family("ferry_log_publish_confirm_seconds",
                                     "From a Publish to a log topic to its PublishOk."),
                  l.confirm_seconds);
}

// Appends a page of `list` after its last entry's name; true once a page came back short.
template <class List, class Entry, class Fetch>
bool next_page(List& list, const google::protobuf::RepeatedPtrField<Entry>& entries,
               const std::string& (Entry::*name)() const, size_t n, Fetch fetch) {
  const int before = entries.size();
  const std::string after = before == 0 ? std::string() : (entries[before - 1].*name)();
  fetch(list, list_page{after, n});
  return static_cast<size_t>(entries.size() - before) < n;
}

// The topics, then the subscriptions, a page at a time.
class topic_pages final : public paged_snapshot {
 public:
  topic_pages(const topic_service& topics, size_t cap) : topics_(topics), cap_(cap) {}

  bool next(size_t n) override {
    if (!topics_done_)
      topics_done_ =
          next_page(topics_list_, topics_list_.topics(), &v1::TopicInfo::name, n,
                    [&](v1::TopicList& l, const list_page& p) { topics_.list_topics("", l, p); });
    else
      subs_done_ = next_page(subs_list_, subs_list_.subscriptions(), &v1::SubscriptionInfo::name, n,
                             [&](v1::SubscriptionList& l, const list_page& p) {
                               topics_.list_subscriptions("", l, p);
                             });
    return subs_done_;
  }
  void render(metric_set& s) const override {
    topic_series(s, topics_list_, cap_);
    subscription_series(s, subs_list_, cap_);
  }

 private:
  const topic_service& topics_;  // loop only: not touched by render()
  size_t cap_;
  v1::TopicList topics_list_;
  v1::SubscriptionList subs_list_;
  bool topics_done_ = false, subs_done_ = false;
};

}  // namespace

void add_net_metrics(metrics_registry& reg, const net_probe& net, const pipeline& requests,
                     const session_hub& sessions, const http_server& http) {
  reg.add([&]() -> metrics_registry::render_fn {
    net_snapshot snap{net, {}, sessions.count(), http.probe(), http.connections()};
    requests.each_kind(
        [&](std::string_view name, uint64_t n) { snap.requests.emplace_back(name, n); });
    return [snap = std::move(snap)](metric_set& s) { net_source(s, snap); };
  });
}

void add_topic_metrics(metrics_registry& reg, const topic_service& topics,
                       const queue_registry& queues, const log_registry& logs, size_t cap) {
  reg.add([&queues, &logs]() -> metrics_registry::render_fn {
    return [q = queues.probe(), l = logs.probe()](metric_set& s) {
      queue_totals(s, q);
      log_totals(s, l);
    };
  });
  reg.add_paged([&topics, cap] { return std::make_shared<topic_pages>(topics, cap); });
}

namespace {

void group_series(metric_set& s, const v1::GroupList& list, const group_probe& gp, size_t cap) {
  auto& lag = s.gauge("ferry_group_lag", "Records of a partition a group has not committed.");
  auto& members = s.gauge("ferry_group_members", "Members of a consumer group.");
  for (int i = 0; i < list.groups_size(); ++i) {
    const auto& g = list.groups(i);
    const std::string name = capped(g.group(), static_cast<size_t>(i), cap);
    sum_into(members, {{"group", name}}, g.members_size());
    for (const auto& p : g.partitions())
      sum_into(lag,
               {{"group", name},
                {"topic", name == other ? other : g.topic()},
                {"partition", name == other ? other : std::to_string(p.partition())}},
               d(p.lag()));
  }
  s.counter("ferry_group_joins_total", "Group joins.", d(gp.joins));
  s.counter("ferry_group_leaves_total", "Members gone: closed, disconnected or timed out.",
            d(gp.leaves));
  s.counter("ferry_group_session_timeouts_total", "Members removed for silence.",
            d(gp.session_timeouts));
  s.counter("ferry_group_commits_total", "Offset commits made durable.", d(gp.commits));
}

class group_pages final : public paged_snapshot {
 public:
  group_pages(group_service& groups, group_probe gp, size_t cap)
      : groups_(groups), probe_(gp), cap_(cap) {}

  bool next(size_t n) override {
    return next_page(list_, list_.groups(), &v1::GroupInfo::group, n,
                     [&](v1::GroupList& l, const list_page& p) { groups_.list_groups(l, p); });
  }
  void render(metric_set& s) const override { group_series(s, list_, probe_, cap_); }

 private:
  group_service& groups_;  // loop only: not touched by render()
  group_probe probe_;
  size_t cap_;
  v1::GroupList list_;
};

}  // namespace

void add_group_metrics(metrics_registry& reg, group_service& groups,
                       const group_coordinator& coordinator, size_t cap) {
  reg.add_paged([&groups, &coordinator, cap] {
    return std::make_shared<group_pages>(groups, coordinator.probe(), cap);
  });
}

namespace {

void storage_series(metric_set& s, const storage::commit_stats& c,
                    const storage::storage_health& h) {
  s.counter("ferry_storage_commit_batches_total", "WriteBatches of log records written.",
            d(c.batches));
  s.counter("ferry_storage_fsyncs_total", "WAL fsyncs.", d(c.syncs));
  metric_set::add(s.histogram_family("ferry_storage_fsync_seconds",
                                     "A synced write of log records, fsync included."),
                  c.sync_seconds);
  metric_set::add(
      s.histogram_family("ferry_storage_commit_batch_records", "Log records per group commit."),
      c.batch_records);
  using stall = storage::storage_health::stall;
  s.gauge("ferry_storage_writes_delayed", "1 while RocksDB delays writes.",
          h.write_stall == stall::delayed ? 1 : 0);
  s.gauge("ferry_storage_writes_stopped",
          "1 while RocksDB stops writes (publishing is flow-blocked).",
          h.write_stall == stall::stopped ? 1 : 0);
  auto& l0 = s.gauge("ferry_storage_level0_files", "RocksDB level-0 files.");
  metric_set::add(l0, d(h.log_l0_files), {{"column_family", "log"}});
  metric_set::add(l0, d(h.meta_l0_files), {{"column_family", "meta"}});
  s.gauge("ferry_storage_pending_compaction_bytes", "RocksDB's estimate of compaction owed.",
          d(h.pending_compaction_bytes));
}

}  // namespace

void add_storage_metrics(metrics_registry& reg, std::function<storage::commit_stats()> commits,
                         std::function<storage::storage_health()> health,
                         const memory_accountant& memory) {
  reg.add([commits = std::move(commits), health = std::move(health),
           &memory]() -> metrics_registry::render_fn {
    struct memory_state {
      int64_t used, high;
      bool alarm;
    };
    return [c = commits(), h = health(),
            m = memory_state{memory.used(), memory.high_watermark(), memory.blocked()}](
               metric_set& s) {
      storage_series(s, c, h);
      s.gauge("ferry_memory_used_bytes", "Bytes of message buffers held by memory topics.",
              static_cast<double>(m.used));
      s.gauge("ferry_memory_high_water_bytes",
              "Memory high-water mark: above it publishing is flow-blocked (0 = none).",
              static_cast<double>(m.high));
      s.gauge("ferry_memory_alarm", "1 while memory is over the high-water mark.", m.alarm ? 1 : 0);
    };
  });
}

namespace {

double resident_bytes() {
  std::ifstream statm("/proc/self/statm");
  uint64_t pages = 0, resident = 0;
  statm >> pages >> resident;
  return d(resident) * static_cast<double>(::sysconf(_SC_PAGESIZE));
}

double open_fds() {
  std::error_code ec;
  size_t n = 0;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec))
    ++n;
  return d(n);
}

}  // namespace

void add_schedule_metrics(metrics_registry& reg, const scheduler& schedule) {
  reg.add([&schedule]() -> metrics_registry::render_fn {
    return [waiting = d(schedule.waiting()), next = schedule.next_due_ms(),
            late = schedule.lateness()](metric_set& s) {
      s.gauge("ferry_schedule_waiting", "Delayed messages waiting for their due time.", waiting);
      s.gauge("ferry_schedule_next_due_timestamp_seconds",
              "When the earliest delayed message is due (Unix seconds); 0 when none waits.",
              static_cast<double>(next) / 1000.0);
      metric_set::add(s.histogram_family("ferry_schedule_release_lateness_seconds",
                                         "How long after its due time a delayed message was "
                                         "published to its topic."),
                      late);
    };
  });
}

void add_cluster_metrics(metrics_registry& reg, std::function<const cluster_view*()> cluster) {
  reg.add([cluster = std::move(cluster)]() -> metrics_registry::render_fn {
    const cluster_view* c = cluster();
    const bool member = c != nullptr;
    double partitions = 0, under = 0;
    if (member)
      for (const auto& [key, st] : c->partitions()) {
        ++partitions;
        under += st.under_replicated() ? 1 : 0;
      }
    return [registered = member && c->registered() ? 1.0 : 0.0,
            nodes = member ? d(c->nodes().size()) : 0.0,
            controls = member && c->controller() == c->node_id() ? 1.0 : 0.0, partitions,
            under](metric_set& s) {
      s.gauge("ferry_cluster_registered",
              "1 while this node's registration in etcd is current; 0 without cluster.etcd.",
              registered);
      s.gauge("ferry_cluster_nodes", "Live nodes this node sees, itself included.", nodes);
      s.gauge("ferry_cluster_controller", "1 while this node is the cluster's controller.",
              controls);
      s.gauge("ferry_cluster_partitions", "Log topic partitions in the cluster, as etcd says.",
              partitions);
      s.gauge("ferry_cluster_under_replicated_partitions",
              "Partitions with fewer in-sync replicas than replicas, as etcd says.", under);
    };
  });
}

void add_process_metrics(metrics_registry& reg, std::string version) {
  const double started =
      static_cast<double>(std::chrono::duration_cast<std::chrono::seconds>(
                              std::chrono::system_clock::now().time_since_epoch())
                              .count());
  // Read where the scrape renders: /proc/self is the process's, whichever thread reads it.
  reg.add([version = std::move(version), started]() -> metrics_registry::render_fn {
    return [version, started](metric_set& s) {
      metric_set::add(s.gauge("ferry_build_info", "ferryd's version; always 1."), 1,
                      {{"version", version}});
      s.gauge("process_resident_memory_bytes", "Resident memory of ferryd.", resident_bytes());
      s.gauge("process_open_fds", "Open file descriptors of ferryd.", open_fds());
      s.gauge("process_start_time_seconds", "When ferryd started, in Unix seconds.", started);
    };
  });
}

}  // namespace ferry::broker
