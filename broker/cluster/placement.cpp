#include "broker/cluster/placement.h"

#include <algorithm>
#include <functional>

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

namespace ferry::broker {

namespace json = boost::json;

std::vector<partition_state> place_partitions(std::string_view topic, uint32_t partitions,
                                              uint32_t replication_factor,
                                              std::vector<uint32_t> nodes) {
  std::sort(nodes.begin(), nodes.end());
  nodes.erase(std::unique(nodes.begin(), nodes.end()), nodes.end());
  std::vector<partition_state> out(partitions);
  if (nodes.empty()) return out;
  const size_t copies = std::min<size_t>(std::max<uint32_t>(replication_factor, 1), nodes.size());
  const size_t first = std::hash<std::string_view>()(topic) % nodes.size();
  for (uint32_t p = 0; p < partitions; ++p) {
    auto& st = out[p];
    for (size_t i = 0; i < copies; ++i)
      st.replicas.push_back(nodes[(first + p + i) % nodes.size()]);
    st.leader = st.replicas.front();
    st.leader_epoch = 1;
    st.isr = st.replicas;
  }
  return out;
}

std::string partitions_root(std::string_view prefix) {
  return std::string(prefix).append("/partitions/");
}

std::string topic_partitions(std::string_view prefix, std::string_view topic) {
  return partitions_root(prefix).append(topic).append("/");
}

std::string partition_key(std::string_view prefix, std::string_view topic, uint32_t p) {
  return topic_partitions(prefix, topic).append(std::to_string(p));
}

std::optional<partition_state> next_leadership(const partition_state& st,
                                               const std::set<uint32_t>& live) {
  partition_state next = st;
  next.isr.clear();
  for (uint32_t id : st.isr)
    if (live.contains(id)) next.isr.push_back(id);
  if (next.isr.empty()) next.isr = st.isr;  // the last in-sync replicas stay in sync
  if (!live.contains(st.leader)) {
    next.leader = 0;
    for (uint32_t id : st.replicas)
      if (live.contains(id) && std::find(next.isr.begin(), next.isr.end(), id) != next.isr.end()) {
        next.leader = id;
        break;
      }
  }
  if (next.leader != st.leader) ++next.leader_epoch;
  if (next.leader == st.leader && next.isr == st.isr) return std::nullopt;
  return next;
}

namespace {

json::array to_array(const std::vector<uint32_t>& ids) {
  json::array a;
  for (uint32_t id : ids)
    a.push_back(id);
  return a;
}

bool from_array(const json::value* v, std::vector<uint32_t>& out) {
  if (v == nullptr || !v->is_array()) return false;
  out.clear();
  for (const auto& e : v->as_array()) {
    if (!e.is_number()) return false;
    boost::system::error_code ec;
    const auto id = e.to_number<uint32_t>(ec);
    if (ec) return false;
    out.push_back(id);
  }
  return true;
}

template <typename T>
bool number_of(const json::object& o, std::string_view key, T& out) {
  const auto* v = o.if_contains(key);
  if (v == nullptr || !v->is_number()) return false;
  boost::system::error_code ec;
  out = v->to_number<T>(ec);
  return !ec;
}

}  // namespace

std::string encode_partition_state(const partition_state& p) {
  json::object o;
  o["replicas"] = to_array(p.replicas);
  o["leader"] = p.leader;
  o["leader_epoch"] = p.leader_epoch;
  o["isr"] = to_array(p.isr);
  return json::serialize(o);
}

bool decode_partition_state(std::string_view text, partition_state& out) {
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec);
  if (ec || !v.is_object()) return false;
  const auto& o = v.as_object();
  return from_array(o.if_contains("replicas"), out.replicas) &&
         from_array(o.if_contains("isr"), out.isr) && number_of(o, "leader", out.leader) &&
         number_of(o, "leader_epoch", out.leader_epoch);
}

}  // namespace ferry::broker
