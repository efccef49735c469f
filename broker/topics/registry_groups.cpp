// The registry's consumer groups: binding to a topic, membership, committed offsets.
//
// Meta records: "group/<group>" -> topic name (written with the group's first commit);
// "offset/<group>/<partition>" -> next offset to read (u64 little-endian).
#include <cstring>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/topics/registry.h"
#include "proto/codec/names.h"

namespace ferry::broker {
namespace {

std::string group_key(std::string_view g) {
  return "group/" + std::string(g);
}
std::string offset_prefix(std::string_view g) {
  return "offset/" + std::string(g) + "/";
}

}  // namespace

consumer_group* registry::find_group(std::string_view name) {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second.get();
}

consumer_group* registry::group_for(const std::string& name, const std::string& topic,
                                    ferry::error& err) {
  if (auto why = names::check_name(name); !why.empty()) {
    err = fail(errc::invalid_name, "group name '" + name + "': " + why);
    return nullptr;
  }
  if (find_log_topic(topic) == nullptr) {
    err = fail(errc::topic_not_found, "log topic '" + topic + "' does not exist");
    return nullptr;
  }
  if (auto* g = find_group(name)) {
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

void registry::leave_group(consumer_group& g, consumer& c) {
  if (auto* t = find_log_topic(g.topic())) g.leave(*t, c, now_);
  c.set_group(nullptr);
  // A group nobody is in and that never committed leaves no trace.
  if (g.empty() && g.committed().empty()) groups_.erase(g.name());
}

ferry::error registry::prepare_commit(const v1::CommitOffsets& req, consumer* member,
                                      meta_changes& changes) {
  log_topic* t = find_log_topic(req.topic());
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
    auto b = t->bounds(po.partition());
    if (po.offset() > b.next)
      return fail(errc::offset_out_of_range, "offset " + std::to_string(po.offset()) +
                                                 " of partition " + std::to_string(po.partition()) +
                                                 " is past its end " + std::to_string(b.next));
    std::string why;
    if (member != nullptr) {
      if (auto rc = g->may_commit(*member, po.partition(), why); rc != errc::ok)
        return fail(rc, why);
    }
    std::string value(8, '\0');
    uint64_t off = po.offset();
    std::memcpy(value.data(), &off, 8);
    changes.push_back({offset_prefix(req.group()) + std::to_string(po.partition()), value});
  }
  changes.push_back({group_key(req.group()), req.topic()});
  return {};
}

void registry::apply_commit(const v1::CommitOffsets& req) {
  ferry::error err;
  consumer_group* g = group_for(req.group(), req.topic(), err);
  if (g == nullptr) return;
  for (const auto& po : req.offsets())
    g->set_committed(po.partition(), po.offset());
}

void registry::list_groups(v1::GroupList& out) {
  for (auto& [name, g] : groups_)
    if (auto* t = find_log_topic(g->topic())) g->describe(*t, *out.add_groups());
}

ferry::error registry::describe_group(std::string_view name, v1::GroupInfo& out) {
  consumer_group* g = find_group(name);
  log_topic* t = g != nullptr ? find_log_topic(g->topic()) : nullptr;
  if (t == nullptr)
    return fail(errc::group_not_found, "consumer group '" + std::string(name) + "' does not exist");
  g->describe(*t, out);
  return {};
}

ferry::error registry::load_groups(storage::meta_store& meta) {
  auto err = meta.scan("group/", [&](std::string_view key, std::string_view topic) {
    std::string name(key.substr(6));
    if (find_log_topic(topic) == nullptr) return;  // its topic is gone
    groups_.emplace(name, std::make_unique<consumer_group>(name, std::string(topic)));
  });
  if (err) return err;
  for (auto& [name, g] : groups_) {
    std::string prefix = offset_prefix(name);
    err = meta.scan(prefix, [&](std::string_view key, std::string_view v) {
      if (v.size() != 8) return;
      uint64_t off = 0;
      std::memcpy(&off, v.data(), 8);
      g->set_committed(static_cast<uint32_t>(std::stoul(std::string(key.substr(prefix.size())))),
                       off);
    });
    if (err) return err;
  }
  return {};
}

}  // namespace ferry::broker
