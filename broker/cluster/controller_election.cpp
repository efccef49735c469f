#include "broker/cluster/controller_election.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "broker/core/log.h"

namespace ferry::broker {

namespace json = boost::json;

namespace {

constexpr int64_t retry_ms = 250;  // after etcd failed to answer, or a watch ended

// The controller key's value: {"id": N}; 0 when it is not one.
uint32_t id_of(const std::string& value) {
  boost::system::error_code ec;
  auto v = json::parse(value, ec);
  if (ec || !v.is_object()) return 0;
  const auto* id = v.as_object().if_contains("id");
  if (id == nullptr || !id->is_number()) return 0;
  const auto n = id->to_number<uint32_t>(ec);
  return ec ? 0 : n;
}

}  // namespace

controller_election::controller_election(environment env, std::string prefix, uint32_t self)
    : env_(std::move(env)), key_(key(prefix)), self_(self) {}

controller_election::~controller_election() {
  if (watch_id_ != 0) env_.etcd.cancel_watch(watch_id_);
}

void controller_election::set_lease(int64_t lease) {
  lease_ = lease;
  if (lease == 0) {
    if (watch_id_ != 0) env_.etcd.cancel_watch(watch_id_);
    watch_id_ = 0;
    if (controller_ == self_) controller_ = 0;  // the key goes with the lease
    return;
  }
  if (watch_id_ == 0) return observe();
  if (controller_ == 0) campaign();
}

// Reads the key (campaigning if there is none), then watches it from the next revision.
void controller_election::observe() {
  env_.etcd.range(
      key_, false,
      lifetime_.guard([this](std::string error, std::vector<etcd_kv> kvs, int64_t revision) {
        if (lease_ == 0 || watch_id_ != 0) return;
        if (!error.empty()) {
          log::cluster().debug("reading the controller: {}", error);
          env_.after(retry_ms, lifetime_.guard([this] { observe(); }));
          return;
        }
        if (kvs.empty()) {
          gone();
        } else {
          seen(kvs.front());
        }
        watch_id_ = env_.etcd.watch(
            key_, revision + 1, lifetime_.guard([this](std::vector<etcd_event> events, int64_t) {
              for (const auto& e : events)
                if (e.kv.key == key_) e.erased ? gone() : seen(e.kv);
            }),
            lifetime_.guard([this](std::string why) {
              watch_id_ = 0;
              log::cluster().debug("the watch of the controller ended: {}", why);
              env_.after(retry_ms, lifetime_.guard([this] {
                if (lease_ != 0 && watch_id_ == 0) observe();
              }));
            }));
      }));
}

void controller_election::campaign() {
  if (campaigning_ || lease_ == 0) return;
  campaigning_ = true;
  json::object value;
  value["id"] = self_;
  etcd_txn t;
  t.when.push_back(etcd_txn::compare::created_at(key_));
  t.then.push_back(etcd_txn::op::put(key_, json::serialize(value), lease_));
  t.otherwise.push_back(etcd_txn::op::get(key_));
  env_.etcd.txn(
      std::move(t), lifetime_.guard([this, lease = lease_](std::string error, etcd_txn_result r) {
        campaigning_ = false;
        if (lease != lease_) return campaign();  // registered again meanwhile: under the new lease
        if (error.empty() && r.succeeded) {
          etcd_kv mine;
          mine.key = key_;
          mine.value = "{\"id\":" + std::to_string(self_) + "}";
          mine.create_revision = r.revision;
          return seen(mine);
        }
        if (error.empty() && !r.got.empty()) return seen(r.got.front());
        log::cluster().debug("campaigning for controller: {}", error.empty() ? "no answer" : error);
        env_.after(retry_ms, lifetime_.guard([this] {
          if (controller_ == 0) campaign();
        }));
      }));
}

void controller_election::seen(const etcd_kv& kv) {
  const uint32_t id = id_of(kv.value);
  if (id == 0) {
    log::cluster().warn("{} holds a value that is not a controller's; ignored", key_);
    return;
  }
  if (id == controller_ && kv.create_revision == epoch_) return;
  controller_ = id;
  epoch_ = kv.create_revision;
  log::cluster().info("node {} is the controller (epoch {}){}", id, epoch_,
                      id == self_ ? ": this node" : "");
}

void controller_election::gone() {
  if (controller_ != 0) log::cluster().info("the controller (node {}) is gone", controller_);
  controller_ = 0;
  campaign();
}

}  // namespace ferry::broker
