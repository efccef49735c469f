#include "broker/cluster/cluster_catalog.h"

#include <algorithm>
#include <memory>
#include <set>

#include <google/protobuf/util/json_util.h>

#include "broker/cluster/placement.h"
#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "proto/codec/names.h"
#include "storage/meta_keys.h"

namespace ferry::broker {

namespace keys = storage::meta_keys;
namespace pb = google::protobuf;

namespace {

// A topic's definition as etcd keeps it: name, kind and options, in JSON (readable with
// etcdctl); the topic id is each node's own.
std::string definition_json(v1::TopicInfo def) {
  def.clear_topic_id();
  std::string out;
  pb::util::JsonPrintOptions o;
  o.preserve_proto_field_names = true;
  (void)pb::util::MessageToJsonString(def, &out, o);
  return out;
}

}  // namespace

cluster_catalog::cluster_catalog(environment env, catalog& local, const std::string& prefix)
    : env_(std::move(env)),
      local_(local),
      topics_(prefix + "/topics/"),
      prefix_(prefix),
      mirror_(
          env_.etcd, env_.after, topics_, true,
          [this](const std::vector<etcd_kv>& kvs) { reset(kvs); },
          [this](const etcd_event& e) { changed(e); }) {}

cluster_catalog::~cluster_catalog() {
  stop();
}

ferry::error cluster_catalog::load(catalog_snapshot& out) {
  if (auto err = local_.load(out)) return err;
  for (const auto& t : out.topics)
    names_[t.name()].present = true;  // revision unknown: the first read compares them
  return {};
}

void cluster_catalog::start() {
  mirror_.start();
}

void cluster_catalog::stop() {
  mirror_.stop();
}

uint64_t cluster_catalog::watch(watch_fn fn) {
  const uint64_t id = next_watch_++;
  watchers_.emplace(id, std::move(fn));
  return id;
}

void cluster_catalog::unwatch(uint64_t id) {
  watchers_.erase(id);
}

// ---- this node's changes ----

void cluster_catalog::apply(catalog_batch b, done_fn done) {
  etcd_txn t;
  edits e;
  if (!b.from_cluster()) {
    for (const auto& pre : b.preconditions())
      if (pre.key.starts_with(keys::topic_prefix))  // topic preconditions are "absent"
        t.when.push_back(etcd_txn::compare::created_at(
            topics_ + std::string(keys::name_of(pre.key, keys::topic_prefix))));
    for (const auto& c : b.changes()) {
      if (!c.key.starts_with(keys::topic_prefix)) continue;
      std::string name(keys::name_of(c.key, keys::topic_prefix));
      write_topic(name, c.value, t);
      e.emplace_back(std::move(name), c.value.has_value());
    }
  }
  if (e.empty()) return local_.apply(std::move(b), std::move(done));
  for (const auto& [name, put] : e)
    ++names_[name].writing;
  env_.etcd.txn(std::move(t), lifetime_.guard([this, e, b = std::move(b), done = std::move(done)](
                                                  std::string error, etcd_txn_result r) mutable {
    // Refused: the broker undoes a creation first, then hears of what etcd has instead. A
    // deletion is not undone (the records went at once): it is stored here all the same,
    // and reading etcd again recreates the topic, empty, if the cluster kept it.
    if (!error.empty() || !r.succeeded) {
      done(!error.empty()
               ? fail(errc::timeout, "cluster: etcd did not take the change: " + error)
               : fail(errc::topic_exists, "topic " + quoted(e.front().first) +
                                              " exists in the cluster (made on another node)"));
      if (!b.keep_erasures()) return written(e, 0);
      return local_.apply(std::move(b), [this, e](const ferry::error&) {
        written(e, 0);
        forget(e);
      });
    }
    // The names' events wait until the change is stored here too: another node's later
    // change of a name is never stored before this one.
    local_.apply(std::move(b),
                 [this, e, revision = r.revision, done = std::move(done)](const ferry::error& err) {
                   done(err);  // a change that could not be stored is undone by the broker first
                   written(e, revision);
                   if (err) forget(e);
                 });
  }));
}

// The definition of topic `name` (a stored record; nullopt: erased), and a log topic's
// partitions: placed over the live nodes when it is created, gone with it.
void cluster_catalog::write_topic(const std::string& name, const std::optional<std::string>& record,
                                  etcd_txn& t) const {
  if (!record) {
    t.then.push_back(etcd_txn::op::erase(topics_ + name));
    t.then.push_back(etcd_txn::op::erase(topic_partitions(prefix_, name), true));
    return;
  }
  v1::TopicInfo def;
  def.ParseFromString(*record);
  t.then.push_back(etcd_txn::op::put(topics_ + name, definition_json(def)));
  if (def.kind() != v1::LOG) return;
  std::vector<uint32_t> nodes;
  if (view_ != nullptr)
    for (const auto& [id, node] : view_->nodes())
      nodes.push_back(id);
  const auto placed = place_partitions(name, std::max<uint32_t>(def.options().partitions(), 1),
                                       def.options().replication_factor(), std::move(nodes));
  for (uint32_t p = 0; p < placed.size(); ++p)
    t.then.push_back(
        etcd_txn::op::put(partition_key(prefix_, name, p), encode_partition_state(placed[p])));
}

// A transaction on the names of `e` has its answer (`revision` 0: it changed nothing).
void cluster_catalog::written(const edits& e, int64_t revision) {
  for (const auto& [name, put] : e) {
    auto& st = names_[name];
    --st.writing;
    if (revision > st.revision) {
      st.revision = revision;
      st.present = put;
    }
  }
  for (const auto& [name, put] : e) {
    auto& st = names_[name];
    if (st.writing != 0) continue;
    for (const auto& ev : std::exchange(st.waiting, {}))
      changed(ev);
  }
}

// This node and etcd may disagree on the names of `e` (etcd has a change this node could
// not store, or this node deleted what etcd kept): they are read again from etcd and
// announced as if another node had made the change.
void cluster_catalog::forget(const edits& e) {
  for (const auto& [name, put] : e)
    names_[name].revision = 0;
  log::cluster().warn("topic {}: this node and etcd may disagree; reading the topics again",
                      quoted(e.front().first));
  if (mirror_.started()) {
    mirror_.stop();
    mirror_.start();
  }
}

// ---- other nodes' changes ----

bool cluster_catalog::add_put(catalog_batch& b, const etcd_kv& kv) const {
  v1::TopicInfo def;
  pb::util::JsonParseOptions o;
  o.ignore_unknown_fields = true;  // written by a newer ferryd
  const std::string name = kv.key.substr(topics_.size());
  if (!pb::util::JsonStringToMessage(kv.value, &def, o).ok() || def.name() != name) {
    log::cluster().error("etcd key {} does not hold a topic definition: {}", quoted(kv.key),
                         quoted(kv.value));
    return false;
  }
  b.put_topic(def);
  return true;
}

void cluster_catalog::reset(const std::vector<etcd_kv>& kvs) {
  catalog_batch b;
  int64_t newest = 0;
  std::set<std::string, std::less<>> in_etcd;
  for (const auto& kv : kvs) {
    const std::string name = kv.key.substr(topics_.size());
    in_etcd.insert(name);
    newest = std::max(newest, kv.mod_revision);
    auto& st = names_[name];
    if (st.writing != 0) {
      st.waiting.push_back({false, kv});
    } else if (!st.present || st.revision != kv.mod_revision) {
      st.revision = kv.mod_revision;
      st.present = add_put(b, kv);
    }
  }
  for (auto& [name, st] : names_)
    if (st.present && st.writing == 0 && !in_etcd.contains(name)) {
      st.present = false;
      b.erase_topic(name);
    }
  synced_ = true;
  announce(std::move(b), newest);
}

void cluster_catalog::changed(const etcd_event& e) {
  const std::string name = e.kv.key.substr(topics_.size());
  auto& st = names_[name];
  if (st.writing != 0) return st.waiting.push_back(e);
  if (e.kv.mod_revision <= st.revision) return;  // this node's own, or already read
  st.revision = e.kv.mod_revision;
  catalog_batch b;
  if (e.erased) {
    if (!std::exchange(st.present, false)) return;
    b.erase_topic(name);
  } else {
    st.present = add_put(b, e.kv);
  }
  announce(std::move(b), e.kv.mod_revision);
}

void cluster_catalog::announce(catalog_batch b, int64_t revision) {
  if (b.empty()) return;
  b.mark_from_cluster();
  for (auto& [id, fn] : std::map(watchers_))
    if (watchers_.contains(id)) fn(b, static_cast<uint64_t>(revision));
}

}  // namespace ferry::broker
