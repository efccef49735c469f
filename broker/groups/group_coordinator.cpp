// The group coordinator: binding groups to topics, membership, committed offsets.
#include "broker/groups/group_coordinator.h"

#include <algorithm>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "proto/codec/names.h"

namespace ferry::broker {
namespace {

constexpr int64_t default_session_timeout_ms = 10'000;
constexpr int64_t max_session_timeout_ms = 300'000;

}  // namespace

void group_coordinator::recover(const catalog_snapshot& snap) {
  for (const auto& rec : snap.groups) {
    if (logs_.find(rec.topic) == nullptr) continue;  // its topic is gone
    auto g = std::make_unique<consumer_group>(rec.name, rec.topic);
    for (const auto& [p, off] : rec.offsets)
      g->set_committed(p, off);
    groups_.emplace(rec.name, std::move(g));
  }
}

consumer_group* group_coordinator::find(std::string_view name) {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second.get();
}

consumer_group* group_coordinator::group_for(const std::string& name, const std::string& topic,
                                             ferry::error& err) {
  if (auto why = names::check_name(name); !why.empty()) {
    err = fail(errc::invalid_name, "group name '" + name + "': " + why);
    return nullptr;
  }
  if (logs_.find(topic) == nullptr) {
    err = fail(errc::topic_not_found, "log topic '" + topic + "' does not exist");
    return nullptr;
  }
  if (auto* g = find(name)) {
    if (g->topic() != topic) {
      err = fail(errc::invalid_argument,
                 "group '" + name + "' reads topic '" + g->topic() + "', not '" + topic + "'");
      return nullptr;
    }
    return g;
  }
  auto g = std::make_unique<consumer_group>(name, topic);
  auto* raw = g.get();
  groups_.emplace(name, std::move(g));
  return raw;
}

void group_coordinator::join(consumer_group& g, log_topic& t, consumer& c,
                             const std::string& client_id, const v1::ConsumeLog& req,
                             v1::ConsumeLogOk& ok) {
  int64_t timeout = req.session_timeout_ms() == 0
                        ? default_session_timeout_ms
                        : std::min<int64_t>(req.session_timeout_ms(), max_session_timeout_ms);
  c.set_group(&g);
  ++probe_.joins;
  std::string member_id;
  auto assigned = g.join(t, c, client_id, req.default_start(), timeout, clock_.now(), member_id);
  ok.set_consumer_id(c.id());
  ok.set_member_id(member_id);
  ok.set_generation(g.generation());
  for (auto& a : assigned)
    *ok.add_assigned() = a;
}

void group_coordinator::leave(consumer& c) {
  consumer_group* g = c.group();
  if (g == nullptr) return;
  ++probe_.leaves;
  if (auto* t = logs_.find(g->topic())) g->leave(*t, c, clock_.now());
  c.set_group(nullptr);
  // A group nobody is in and that never committed leaves no trace.
  if (g->empty() && g->committed().empty()) groups_.erase(g->name());
}

void group_coordinator::revoke_done(consumer& c) {
  consumer_group* g = c.group();
  if (g == nullptr || c.reader() == nullptr) return;  // gone meanwhile
  g->revoke_done(c.reader()->topic(), c, clock_.now());
}

ferry::error group_coordinator::prepare_commit(const v1::CommitOffsets& req, consumer* member,
                                               catalog_batch& b) {
  log_topic* t = logs_.find(req.topic());
  if (t == nullptr)
    return fail(errc::topic_not_found, "log topic '" + req.topic() + "' does not exist");
  ferry::error err;
  consumer_group* g =
      member != nullptr ? member->group() : group_for(req.group(), req.topic(), err);
  if (err) return err;
  if (g == nullptr || g->name() != req.group())
    return fail(errc::unknown_member, "consumer " + std::to_string(req.consumer_id()) +
                                          " is not a member of group '" + req.group() + "'");
  if (g->topic() != req.topic())
    return fail(errc::invalid_argument,
                "group '" + req.group() + "' reads topic '" + g->topic() + "'");
  for (const auto& po : req.offsets()) {
    if (!t->valid_partition(po.partition()))
      return fail(errc::partition_not_found,
                  "topic '" + req.topic() + "' has no partition " + std::to_string(po.partition()));
    const uint64_t end = t->bounds(po.partition()).next;
    if (po.offset() > end)
      return fail(errc::offset_out_of_range, "offset " + std::to_string(po.offset()) +
                                                 " of partition " + std::to_string(po.partition()) +
                                                 " is past its end " + std::to_string(end));
    if (member != nullptr)
      if (auto refused = g->may_commit(*member, po.partition())) return refused;
    b.put_offset(req.group(), po.partition(), po.offset());
  }
  b.put_group(req.group(), req.topic());  // also for a commit of no offsets: the group is kept
  return {};
}

ferry::error group_coordinator::check_idle(std::string_view name) {
  consumer_group* g = find(name);
  if (g == nullptr || g->empty()) return {};
  return fail(errc::invalid_argument, "group '" + std::string(name) + "' has " +
                                          std::to_string(g->members().size()) +
                                          " members: offsets can be reset only while it has none");
}

void group_coordinator::resolve_reset(const v1::ResetOffsets& req, reset_fn done) {
  ferry::error err;
  if (group_for(req.group(), req.topic(), err) == nullptr) return done(err, {});
  if (auto busy = check_idle(req.group())) return done(busy, {});
  log_topic* t = logs_.find(req.topic());
  std::vector<uint32_t> parts(req.partitions().begin(), req.partitions().end());
  if (parts.empty())
    for (uint32_t p = 0; p < t->partition_count(); ++p)
      parts.push_back(p);
  for (uint32_t p : parts)
    if (!t->valid_partition(p))
      return done(fail(errc::partition_not_found,
                       "topic '" + req.topic() + "' has no partition " + std::to_string(p)),
                  {});
  struct job {
    v1::CommitOffsets commit;
    size_t left = 0;
    ferry::error err;
    reset_fn done;
  };
  auto j = std::make_shared<job>();
  j->commit.set_group(req.group());
  j->commit.set_topic(req.topic());
  j->left = parts.size();
  j->done = std::move(done);
  for (uint32_t p : parts)
    j->commit.add_offsets()->set_partition(p);
  for (size_t i = 0; i < parts.size(); ++i)
    t->resolve(parts[i], req.to(), [j, i](ferry::error e, uint64_t off) {
      if (e && !j->err) j->err = std::move(e);
      j->commit.mutable_offsets(static_cast<int>(i))->set_offset(off);
      if (--j->left == 0) j->done(j->err, j->commit);
    });
}

void group_coordinator::apply_commit(const v1::CommitOffsets& req) {
  ferry::error err;
  consumer_group* g = group_for(req.group(), req.topic(), err);
  if (g == nullptr) return;
  ++probe_.commits;
  for (const auto& po : req.offsets())
    g->set_committed(po.partition(), po.offset());
}

void group_coordinator::list(v1::GroupList& out, const list_page& page) {
  size_t n = 0;
  for (auto it = groups_.upper_bound(page.after); it != groups_.end() && n < page.limit; ++it)
    if (auto* t = logs_.find(it->second->topic())) {
      it->second->describe(*t, *out.add_groups());
      ++n;
    }
}

ferry::error group_coordinator::describe(std::string_view name, v1::GroupInfo& out) {
  consumer_group* g = find(name);
  log_topic* t = g != nullptr ? logs_.find(g->topic()) : nullptr;
  if (t == nullptr)
    return fail(errc::group_not_found, "consumer group '" + std::string(name) + "' does not exist");
  g->describe(*t, out);
  return {};
}

void group_coordinator::topic_removed(std::string_view name, catalog_batch& b) {
  for (auto g = groups_.begin(); g != groups_.end();) {
    if (g->second->topic() != name) {
      ++g;
      continue;
    }
    // Its members are cancelled as readers of the topic, right after this.
    for (const auto& m : g->second->members())
      m.c->set_group(nullptr);
    std::vector<uint32_t> partitions;
    for (const auto& [p, off] : g->second->committed())
      partitions.push_back(p);
    b.erase_group(g->first, partitions);
    g = groups_.erase(g);
  }
}

void group_coordinator::tick() {
  // Session timeouts may remove members (and empty groups): iterate over names.
  std::vector<std::string> names;
  for (const auto& [name, g] : groups_)
    names.push_back(name);
  for (const auto& name : names)
    expire_members(name);
}

void group_coordinator::expire_members(const std::string& name) {
  consumer_group* g = find(name);
  log_topic* t = g != nullptr ? logs_.find(g->topic()) : nullptr;
  if (t == nullptr) return;
  for (consumer* c : g->on_tick(*t, clock_.now())) {
    log::groups().warn("group {}: a member's session timed out", name);
    ++probe_.session_timeouts;
    leave(*c);  // may erase the group
    t->detach(*c);
    c->sink().consumer_cancelled(*c, errc::unknown_member,
                                 "session timed out: removed from group " + name);
    if (find(name) == nullptr) return;
  }
}

}  // namespace ferry::broker
