#include "broker/logs/log_registry.h"

#include "broker/core/errors.h"
#include "broker/core/log.h"

namespace ferry::broker {

log_registry::log_registry(const loop_clock& clock, log_settings settings, catalog& cat,
                           log_port* port)
    : clock_(clock), settings_(settings), catalog_(cat), port_(port) {}

log_registry::~log_registry() {
  for (auto& [name, t] : topics_)
    t->cancel_readers(errc::shutting_down, "broker stopping");
}

ferry::error log_registry::recover(const catalog_snapshot& snap, storage::log_store* store) {
  for (const auto& rec : snap.topics) {
    if (rec.kind() != v1::LOG) continue;
    if (port_ == nullptr || store == nullptr)
      return fail(errc::storage_error,
                  "log topic " + quoted(rec.name()) + " found without log storage");
    auto t = std::make_unique<log_topic>(rec.name(), rec.topic_id(), rec.options(), *port_, clock_,
                                         settings_, probe_);
    if (auto err = t->recover(*store)) return err;
    topics_.emplace(rec.name(), std::move(t));
  }
  log::logs().info("recovered {} log topics", topics_.size());
  return {};
}

log_topic* log_registry::find(std::string_view name) {
  auto it = topics_.find(name);
  return it == topics_.end() ? nullptr : it->second.get();
}

void log_registry::for_each(const std::function<void(const topic&)>& fn) const {
  for (const auto& [name, t] : topics_)
    fn(*t);
}

ferry::error log_registry::check_options(const v1::TopicOptions& o) const {
  if (o.partitions() > settings_.max_partitions)
    return fail(errc::invalid_argument, "partitions " + std::to_string(o.partitions()) +
                                            " is above the maximum of " +
                                            std::to_string(settings_.max_partitions));
  if (o.fsync() != v1::FSYNC_ALWAYS && o.fsync() != v1::FSYNC_INTERVAL &&
      o.fsync() != v1::FSYNC_NEVER)
    return fail(errc::invalid_argument, "unknown fsync policy " + std::to_string(o.fsync()));
  if (o.fsync() == v1::FSYNC_INTERVAL && o.fsync_interval_ms() == 0)
    return fail(errc::invalid_argument, "fsync: interval needs fsync_interval_ms above 0");
  if (o.retention_ms() < -1 || o.retention_bytes() < -1)
    return fail(errc::invalid_argument,
                "retention_ms and retention_bytes are -1 (forever), 0 "
                "(the broker default) or positive");
  if (o.temporary()) return fail(errc::invalid_argument, "log topics cannot be temporary");
  if (o.message_ttl_ms() != 0)
    return fail(errc::invalid_argument,
                "message_ttl_ms applies to memory topics; log topics use retention_ms");
  return {};
}

ferry::error log_registry::create(const v1::CreateTopic& req, uint64_t /*owner_session*/,
                                  const topic* other_kind, v1::TopicInfo& info, catalog_batch& b) {
  if (port_ == nullptr) return fail(errc::not_supported, "this broker has no log storage");
  v1::TopicOptions o = req.options();
  if (o.partitions() == 0) o.set_partitions(1);
  if (auto err = check_options(o)) return err;
  if (auto* existing = find(req.name())) {
    bool same = existing->options().SerializeAsString() == o.SerializeAsString();
    if (req.if_not_exists() && same) {
      existing->describe(info);
      return {};
    }
    return fail(errc::topic_exists, "topic " + quoted(req.name()) + " already exists" +
                                        (same ? "" : " with different options"));
  }
  if (other_kind != nullptr)
    return fail(errc::topic_exists,
                "topic " + quoted(req.name()) + " already exists as a memory topic");
  uint32_t id = catalog_.allocate_topic_id(b);
  auto t = std::make_unique<log_topic>(req.name(), id, o, *port_, clock_, settings_, probe_);
  auto& ref = *t;
  topics_.emplace(req.name(), std::move(t));
  apply_leadership(ref);
  ref.describe(info);
  b.expect_no_topic(ref.name());
  b.put_topic(info);
  log::logs().info("topic {} created (log, {} partitions, id {})", ref.name(),
                   ref.partition_count(), id);
  return {};
}

void log_registry::remove(std::string_view name, catalog_batch& b) {
  auto it = topics_.find(name);
  if (it == topics_.end()) return;
  it->second->cancel_readers(errc::topic_not_found, "topic " + quoted(name) + " was deleted");
  it->second->drop_storage();
  b.erase_topic(name);
  log::logs().info("topic {} deleted (log)", name);
  topics_.erase(it);
}

void log_registry::tick() {
  const int64_t now = clock_.now();
  for (auto& [name, t] : topics_)
    t->on_tick(now);
  if (cluster_ != nullptr && cluster_->registered() != registered_) {
    registered_ = !registered_;
    leadership_changed();
  }
}

// ---- leadership in a cluster ----

void log_registry::set_cluster(const cluster_view* c) {
  cluster_ = c;
  registered_ = c != nullptr && c->registered();
  leadership_changed();
}

void log_registry::leadership_changed() {
  for (auto& [name, t] : topics_)
    apply_leadership(*t);
}

void log_registry::apply_leadership(log_topic& t) const {
  for (uint32_t p = 0; p < t.partition_count(); ++p)
    t.set_not_led_here(p, not_led_here(t.name(), p));
}

std::string log_registry::not_led_here(const std::string& topic, uint32_t p) const {
  if (cluster_ == nullptr) return {};
  const auto it = cluster_->partitions().find({topic, p});
  const bool known = it != cluster_->partitions().end();
  const uint32_t leader = known ? it->second.leader : 0;
  const bool here = known && leader == cluster_->node_id();
  if (here && registered_) return {};
  std::string why = "partition " + std::to_string(p) + " of topic " + quoted(topic);
  if (!known)
    return why.append(" has no leader known to node ")
        .append(std::to_string(cluster_->node_id()))
        .append(" yet");
  if (here) return why.append(" is led by this node, whose registration in etcd may have lapsed");
  if (leader == 0) return why.append(" has no leader: none of its in-sync replicas is alive");
  why.append(" is led by node ").append(std::to_string(leader));
  const auto node = cluster_->nodes().find(leader);
  return node == cluster_->nodes().end() ? why.append(" (not alive)")
                                         : why.append(" at ").append(node->second.advertise);
}

}  // namespace ferry::broker
