#include "broker/cluster/controller_election.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "broker/core/log.h"

namespace ferry::broker {

namespace json = boost::json;

namespace {

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
    : env_(std::move(env)),
      key_(key(prefix)),
      self_(self),
      watched_(
          env_.etcd, env_.after, key_, false,
          [this](const std::vector<etcd_kv>& kvs) { kvs.empty() ? gone() : seen(kvs.front()); },
          [this](const etcd_event& e) { e.erased ? gone() : seen(e.kv); }) {}

controller_election::~controller_election() = default;

// With a lease the key is mirrored (a campaign whenever it is absent); without one, not.
void controller_election::set_lease(int64_t lease) {
  lease_ = lease;
  if (lease == 0) {
    watched_.stop();
    if (controller_ == self_) controller_ = 0;  // the key goes with the lease
    return;
  }
  if (!watched_.started()) return watched_.start();
  if (controller_ == 0) campaign();
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
        if (error.empty() && r.succeeded) return elected(self_, r.revision);  // created now
        if (error.empty() && !r.got.empty()) return seen(r.got.front());
        log::cluster().debug("campaigning for controller: {}", error.empty() ? "no answer" : error);
        env_.after(etcd_retry_ms, lifetime_.guard([this] {
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
  elected(id, kv.create_revision);
}

void controller_election::elected(uint32_t id, int64_t epoch) {
  if (id == controller_ && epoch == epoch_) return;
  controller_ = id;
  epoch_ = epoch;
  log::cluster().info("node {} is the controller (epoch {}){}", id, epoch_,
                      id == self_ ? ": this node" : "");
  if (env_.changed) env_.changed();
}

void controller_election::gone() {
  if (controller_ != 0) log::cluster().info("the controller (node {}) is gone", controller_);
  controller_ = 0;
  campaign();
}

}  // namespace ferry::broker
