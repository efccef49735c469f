#include "broker/groups/consumer_group.h"

#include <algorithm>

#include "broker/core/errors.h"
#include "broker/core/log.h"

namespace ferry::broker {

consumer_group::member* consumer_group::find(const consumer& c) {
  for (auto& m : members_)
    if (m.c == &c) return &m;
  return nullptr;
}

const consumer_group::member* consumer_group::find(const consumer& c) const {
  return const_cast<consumer_group*>(this)->find(c);
}

std::vector<v1::PartitionAssignment> consumer_group::join(log_topic& t, consumer& c,
                                                          std::string client_id,
                                                          v1::Position default_start,
                                                          int64_t session_timeout_ms, int64_t now,
                                                          std::string& member_id) {
  member m;
  m.member_id = (client_id.empty() ? std::string("member") : client_id) + "-" +
                std::to_string(next_member_++);
  m.client_id = std::move(client_id);
  m.c = &c;
  m.default_start = std::move(default_start);
  m.session_timeout_ms = session_timeout_ms;
  member_id = m.member_id;
  members_.push_back(std::move(m));
  ++generation_;
  log::groups().info("group {}: {} joined ({} members, generation {})", name_, member_id,
                     members_.size(), generation_);
  return rebalance(t, now, &c);
}

void consumer_group::leave(log_topic& t, consumer& c, int64_t now) {
  auto it =
      std::find_if(members_.begin(), members_.end(), [&](const member& m) { return m.c == &c; });
  if (it == members_.end()) return;
  for (uint32_t p : it->owned)
    t.remove_partition(c, p);
  log::groups().info("group {}: {} left, {} partitions to reassign", name_, it->member_id,
                     it->owned.size() + it->revoking.size());
  members_.erase(it);
  ++generation_;
  (void)rebalance(t, now, nullptr);
}

void consumer_group::revoke_done(log_topic& t, consumer& c, int64_t now) {
  member* m = find(c);
  if (m == nullptr || m->revoking.empty()) return;
  m->revoking.clear();
  (void)rebalance(t, now, nullptr);
}

std::vector<consumer*> consumer_group::on_tick(log_topic& t, int64_t now) {
  // A member whose connection went silent is gone; its session sends at least pings.
  std::vector<consumer*> dead;
  bool overdue = false;
  for (auto& m : members_) {
    if (now - m.c->last_activity_ms() > m.session_timeout_ms) dead.push_back(m.c);
    if (!m.revoking.empty() && now >= m.revoke_deadline) {
      log::groups().warn("group {}: {} did not confirm revoked partitions in time; reassigning",
                         name_, m.member_id);
      m.revoking.clear();
      overdue = true;
    }
  }
  if (overdue) (void)rebalance(t, now, nullptr);
  return dead;
}

uint64_t consumer_group::start_offset(const log_topic& t, uint32_t p,
                                      const v1::Position& default_start) const {
  auto b = t.bounds(p);
  auto it = committed_.find(p);
  if (it != committed_.end()) return std::clamp(it->second, b.start, b.next);
  return default_start.kind() == v1::Position::LATEST ? b.next : b.start;
}

// One rebalance as it is worked out: who gets how many, who holds what, what to tell.
struct consumer_group::plan {
  std::vector<size_t> order;           // member indexes by member id
  std::vector<size_t> quota;           // fair share per member index
  std::vector<int> owner;              // per partition: the member index holding it, or -1
  std::vector<v1::Assignment> pushes;  // per member index
  std::vector<std::pair<size_t, v1::PartitionAssignment>> starts;  // what to add, after the pushes
};

consumer_group::plan consumer_group::fair_shares(uint32_t partitions) const {
  plan pl;
  const size_t m = members_.size();
  pl.order.resize(m);
  for (size_t i = 0; i < m; ++i)
    pl.order[i] = i;
  std::sort(pl.order.begin(), pl.order.end(),
            [&](size_t a, size_t b) { return members_[a].member_id < members_[b].member_id; });
  // The first n % m members (by id) get one more.
  pl.quota.resize(m);
  for (size_t k = 0; k < m; ++k)
    pl.quota[pl.order[k]] = partitions / m + (k < partitions % m ? 1 : 0);
  pl.owner.assign(partitions, -1);
  pl.pushes.resize(m);
  return pl;
}

void consumer_group::keep_or_revoke(log_topic& t, int64_t now, plan& pl) {
  for (size_t i = 0; i < members_.size(); ++i) {
    auto& m = members_[i];
    for (uint32_t p : m.revoking)
      pl.owner[p] = static_cast<int>(i);  // busy until RevokeDone
    size_t kept = 0;
    for (auto it = m.owned.begin(); it != m.owned.end();) {
      pl.owner[*it] = static_cast<int>(i);
      if (kept < pl.quota[i]) {
        ++kept;
        ++it;
        continue;
      }
      t.remove_partition(*m.c, *it);  // deliveries stop now
      m.revoking.insert(*it);
      pl.pushes[i].add_revoked(*it);
      m.revoke_deadline = now + m.session_timeout_ms;
      it = m.owned.erase(it);
    }
  }
}

void consumer_group::assign_free(const log_topic& t, const consumer* joiner, plan& pl,
                                 std::vector<v1::PartitionAssignment>& for_joiner) {
  for (uint32_t p = 0; p < pl.owner.size(); ++p) {
    if (pl.owner[p] != -1) continue;
    for (size_t i : pl.order) {
      auto& m = members_[i];
      if (m.owned.size() >= pl.quota[i]) continue;
      m.owned.insert(p);
      pl.owner[p] = static_cast<int>(i);
      v1::PartitionAssignment a;
      a.set_partition(p);
      a.set_next_offset(start_offset(t, p, m.default_start));
      if (m.c == joiner) {
        for_joiner.push_back(a);
      } else {
        *pl.pushes[i].add_assigned() = a;
      }
      pl.starts.emplace_back(i, a);
      break;
    }
  }
}

std::vector<v1::PartitionAssignment> consumer_group::rebalance(log_topic& t, int64_t now,
                                                               const consumer* joiner) {
  std::vector<v1::PartitionAssignment> for_joiner;
  if (members_.empty()) return for_joiner;
  plan pl = fair_shares(t.partition_count());
  // Each member keeps what it owns up to its share; the excess is revoked.
  keep_or_revoke(t, now, pl);
  // Free partitions go to members under their share. They are announced before their
  // first delivery: add_partition() runs after the pushes below.
  assign_free(t, joiner, pl, for_joiner);
  for (size_t i = 0; i < members_.size(); ++i) {
    if (pl.pushes[i].assigned_size() == 0 && pl.pushes[i].revoked_size() == 0) continue;
    pl.pushes[i].set_consumer_id(members_[i].c->id());
    pl.pushes[i].set_generation(generation_);
    members_[i].c->sink().assignment_changed(*members_[i].c, pl.pushes[i]);
  }
  for (const auto& [i, a] : pl.starts)
    (void)t.add_partition(*members_[i].c, a.partition(), a.next_offset());
  return for_joiner;
}

ferry::error consumer_group::may_commit(const consumer& c, uint32_t p) const {
  const member* m = find(c);
  if (m == nullptr)
    return fail(errc::unknown_member, "this consumer is not a member of group " + name_);
  if (m->owned.contains(p) || m->revoking.contains(p)) return {};
  return fail(errc::rebalance_in_progress,
              "partition " + std::to_string(p) + " is not assigned to " + m->member_id +
                  " (group " + name_ + ", generation " + std::to_string(generation_) + ")");
}

void consumer_group::describe(const log_topic& t, v1::GroupInfo& out) const {
  out.set_group(name_);
  out.set_topic(topic_);
  out.set_generation(generation_);
  std::map<uint32_t, std::string> owner;
  for (const auto& m : members_) {
    auto* gm = out.add_members();
    gm->set_member_id(m.member_id);
    gm->set_client_id(m.client_id);
    for (uint32_t p : m.owned) {
      gm->add_partitions(p);
      owner[p] = m.member_id;
    }
  }
  for (uint32_t p = 0; p < t.partition_count(); ++p) {
    auto b = t.bounds(p);
    auto* pl = out.add_partitions();
    pl->set_partition(p);
    pl->set_log_start(b.start);
    pl->set_log_end(b.next);
    auto it = committed_.find(p);
    uint64_t from = b.start;
    if (it != committed_.end()) {
      pl->set_has_committed(true);
      pl->set_committed(it->second);
      from = std::max(it->second, b.start);
    }
    pl->set_lag(b.next > from ? b.next - from : 0);
    if (auto o = owner.find(p); o != owner.end()) pl->set_owner(o->second);
  }
}

}  // namespace ferry::broker
