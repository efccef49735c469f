#include "broker/cluster/membership.h"

#include <charconv>
#include <limits>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "broker/core/log.h"

namespace ferry::broker {

namespace json = boost::json;

namespace {

std::string node_key(const std::string& prefix, uint32_t id) {
  return prefix + "/nodes/" + std::to_string(id);
}

std::string encode(const cluster_node& n) {
  json::object o;
  o["id"] = n.id;
  o["advertise"] = n.advertise;
  o["incarnation"] = n.incarnation;
  return json::serialize(o);
}

bool decode(std::string_view value, cluster_node& out) {
  boost::system::error_code ec;
  auto v = json::parse(value, ec);
  if (ec || !v.is_object()) return false;
  const auto& o = v.as_object();
  const auto* id = o.if_contains("id");
  const auto* advertise = o.if_contains("advertise");
  const auto* incarnation = o.if_contains("incarnation");
  if (id == nullptr || !id->is_number() || advertise == nullptr || !advertise->is_string() ||
      incarnation == nullptr || !incarnation->is_string())
    return false;
  const auto n = id->to_number<uint32_t>(ec);
  if (ec) return false;
  out = {n, std::string(advertise->as_string()), std::string(incarnation->as_string())};
  return true;
}

}  // namespace

membership::membership(environment env, cluster_settings settings, cluster_node self)
    : env_(env),
      settings_(std::move(settings)),
      self_(std::move(self)),
      key_(node_key(settings_.prefix, self_.id)),
      value_(encode(self_)),
      watched_(
          env_.etcd, env_.after, settings_.prefix + "/nodes/", true,
          [this](const std::vector<etcd_kv>& kvs) { nodes_read(kvs); },
          [this](const etcd_event& e) { apply(e.kv, e.erased); }),
      leadership_({env_.etcd, env_.after, *this, settings_.prefix}),
      election_({env_.etcd, env_.after, [this] { leadership_.changed(); }}, settings_.prefix,
                self_.id),
      partitions_(env_.etcd, env_.after, settings_.prefix, [this] { partitions_changed(); }) {}

membership::~membership() = default;

void membership::join(std::function<void(std::string error)> done) {
  try_register(env_.now.now() + settings_.join_timeout_ms,
               [this, done = std::move(done)](std::string error) {
                 if (error.empty()) {
                   watched_.start();
                   partitions_.start();
                 }
                 done(std::move(error));
               });
}

// A new lease, then the key under it. The lease's time runs from before the grant was
// sent: etcd starts it when it grants.
void membership::try_register(int64_t deadline_ms, std::function<void(std::string)> done) {
  const int64_t sent = env_.now.now();
  env_.etcd.grant(settings_.lease_ttl_s,
                  lifetime_.guard([this, sent, deadline_ms, done = std::move(done)](
                                      std::string error, int64_t lease, int64_t) mutable {
                    if (!error.empty())
                      return retry("etcd: " + error, deadline_ms, std::move(done));
                    claim(lease, sent, deadline_ms, std::move(done));
                  }));
}

// The key is created if absent. If it is there, it is either this node's own from before
// a crash (the same incarnation: taken over at once) or another node's (waited for).
void membership::claim(int64_t lease, int64_t sent, int64_t deadline_ms,
                       std::function<void(std::string)> done) {
  etcd_txn t;
  t.when.push_back(etcd_txn::compare::created_at(key_));
  t.then.push_back(etcd_txn::op::put(key_, value_, lease));
  t.otherwise.push_back(etcd_txn::op::get(key_));
  env_.etcd.txn(
      std::move(t), lifetime_.guard([this, lease, sent, deadline_ms, done = std::move(done)](
                                        std::string error, etcd_txn_result r) mutable {
        if (!error.empty()) return retry("etcd: " + error, deadline_ms, std::move(done));
        if (r.succeeded) {
          registered_now(lease, sent + settings_.lease_ttl_s * 1000);
          return done({});
        }
        cluster_node holder;
        const bool known = !r.got.empty() && decode(r.got.front().value, holder);
        if (!known || holder.incarnation != self_.incarnation) {
          env_.etcd.revoke(lease, [](std::string) {});
          return retry(known ? "node id " + std::to_string(self_.id) + " is registered by " +
                                   holder.advertise +
                                   " (another ferryd with the same cluster.node_id and another "
                                   "data dir?); waiting for its lease to expire"
                             : "node id " + std::to_string(self_.id) +
                                   " is registered with a value this ferryd cannot read",
                       deadline_ms, std::move(done));
        }
        // This data dir's own registration from a run that ended without leaving: replaced,
        // unless it changed meanwhile.
        const auto stale = r.got.front();
        etcd_txn takeover;
        takeover.when.push_back(etcd_txn::compare::modified_at(key_, stale.mod_revision));
        takeover.then.push_back(etcd_txn::op::put(key_, value_, lease));
        env_.etcd.txn(
            std::move(takeover),
            lifetime_.guard([this, lease, sent, stale, deadline_ms, done = std::move(done)](
                                std::string error2, etcd_txn_result r2) mutable {
              if (!error2.empty() || !r2.succeeded)
                return retry(error2.empty() ? "this node's stale registration changed meanwhile"
                                            : "etcd: " + error2,
                             deadline_ms, std::move(done));
              if (stale.lease != 0) env_.etcd.revoke(stale.lease, [](std::string) {});
              log::cluster().info("took over this node's registration from a previous run");
              registered_now(lease, sent + settings_.lease_ttl_s * 1000);
              done({});
            }));
      }));
}

void membership::retry(std::string why, int64_t deadline_ms,
                       std::function<void(std::string)> done) {
  state_ = why;
  if (env_.now.now() + etcd_retry_ms > deadline_ms) return done(std::move(why));
  log::cluster().debug("not registered yet: {}", why);
  env_.after(etcd_retry_ms, lifetime_.guard([this, deadline_ms, done = std::move(done)]() mutable {
    try_register(deadline_ms, std::move(done));
  }));
}

void membership::registered_now(int64_t lease, int64_t valid_until_ms) {
  lease_ = lease;
  valid_until_ms_ = valid_until_ms;
  state_.clear();
  election_.set_lease(lease);
  log::cluster().info("registered as node {} ({}) under {}, lease TTL {} s", self_.id,
                      self_.advertise, key_, settings_.lease_ttl_s);
  renew();
}

// A renewal every third of the TTL. An answer extends registered() to when the renewal
// was sent plus the TTL; no answer leaves it to run out, and the renewals go on.
void membership::renew() {
  env_.after(settings_.lease_ttl_s * 1000 / 3, lifetime_.guard([this, lease = lease_] {
    if (lease != lease_) return;  // left, or registered again under another lease
    const int64_t sent = env_.now.now();
    env_.etcd.keep_alive(lease,
                         lifetime_.guard([this, lease, sent](std::string error, int64_t ttl_s) {
                           if (lease != lease_) return;
                           if (error.empty() && ttl_s <= 0)
                             return lost("the lease expired in etcd (no renewal for lease_ttl_s)");
                           if (error.empty()) {
                             valid_until_ms_ = sent + ttl_s * 1000;
                             state_.clear();
                           } else if (!registered()) {
                             state_ = "cannot renew the lease: " + error;
                           }
                           renew();
                         }));
  }));
}

// The lease is gone: this node is no longer a member until it registers again.
void membership::lost(std::string why) {
  log::cluster().warn("node {} lost its registration: {}; registering again", self_.id, why);
  lease_ = 0;
  election_.set_lease(0);
  state_ = std::move(why);
  try_register(std::numeric_limits<int64_t>::max() / 2, [](std::string) {});
}

bool membership::registered() const {
  return lease_ != 0 && env_.now.now() < valid_until_ms_;
}

std::string membership::state() const {
  if (registered()) return {};
  if (lease_ != 0 && state_.empty()) return "the lease may have expired: etcd has not answered";
  return state_;
}

void membership::leave(task done) {
  watched_.stop();
  partitions_.stop();
  const int64_t lease = lease_;
  lease_ = 0;
  election_.set_lease(0);
  state_ = "left the cluster";
  if (lease == 0) return done();
  env_.etcd.revoke(lease, lifetime_.guard([this, done = std::move(done)](std::string error) {
    if (error.empty()) {
      log::cluster().info("node {} left (lease revoked)", self_.id);
    } else {
      log::cluster().warn("node {} could not revoke its lease ({}); it expires within {} s",
                          self_.id, error, settings_.lease_ttl_s);
    }
    done();
  }));
}

// ---- the view of the nodes (etcd_mirror) ----

void membership::nodes_read(const std::vector<etcd_kv>& kvs) {
  std::map<uint32_t, cluster_node> before;
  before.swap(nodes_);
  for (const auto& kv : kvs)
    apply(kv, false);
  for (const auto& [id, n] : before)
    if (!nodes_.contains(id)) log::cluster().info("node {} is gone", id);
  leadership_.changed();
}

void membership::apply(const etcd_kv& kv, bool erased) {
  const std::string_view id_text = std::string_view(kv.key).substr(kv.key.rfind('/') + 1);
  uint32_t id = 0;
  auto [end, ec] = std::from_chars(id_text.data(), id_text.data() + id_text.size(), id);
  if (ec != std::errc() || end != id_text.data() + id_text.size()) return;
  if (erased) {
    if (nodes_.erase(id) > 0) log::cluster().info("node {} is gone", id);
    return leadership_.changed();
  }
  cluster_node n;
  if (!decode(kv.value, n) || n.id != id) {
    log::cluster().warn("{} holds a value that is not a node's; ignored", kv.key);
    return;
  }
  auto [it, added] = nodes_.insert_or_assign(id, n);
  if (added) log::cluster().info("node {} is up at {}", id, it->second.advertise);
  leadership_.changed();
}

void membership::partitions_changed() {
  leadership_.changed();
  if (!partitions_listener_ || std::exchange(partitions_pending_, true)) return;
  env_.after(0, lifetime_.guard([this] {
    partitions_pending_ = false;
    partitions_listener_();
  }));
}

}  // namespace ferry::broker
