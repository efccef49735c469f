#include "broker/cluster/etcd_json.h"

#include <charconv>
#include <utility>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "proto/codec/base64.h"

namespace ferry::broker::etcd_json {

namespace json = boost::json;
using codec::base64;
using codec::unbase64;

namespace {

// The first key after every key that starts with `prefix` (etcd's range_end for a
// prefix); "\0" (every key) when there is none.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty()) {
    if (static_cast<unsigned char>(prefix.back()) < 0xff) {
      prefix.back() = static_cast<char>(prefix.back() + 1);
      return prefix;
    }
    prefix.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace

// etcd's int64 fields are JSON strings; a field at its default value is left out.
int64_t number(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  if (v == nullptr) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->as_uint64());
  if (!v->is_string()) return 0;
  int64_t n = 0;
  const auto& s = v->as_string();
  std::from_chars(s.data(), s.data() + s.size(), n);
  return n;
}

std::string bytes(const json::object& o, std::string_view key) {
  const auto* v = o.if_contains(key);
  std::string raw;
  if (v != nullptr && v->is_string()) unbase64(v->as_string(), raw);
  return raw;
}

const json::object& object_of(const json::object& o, std::string_view key) {
  static const json::object none;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_object() ? v->as_object() : none;
}

const json::array& array_of(const json::object& o, std::string_view key) {
  static const json::array none;
  const auto* v = o.if_contains(key);
  return v != nullptr && v->is_array() ? v->as_array() : none;
}

etcd_kv read_kv(const json::object& o) {
  return {bytes(o, "key"),           bytes(o, "value"),    number(o, "create_revision"),
          number(o, "mod_revision"), number(o, "version"), number(o, "lease")};
}

std::vector<etcd_kv> read_kvs(const json::object& o) {
  std::vector<etcd_kv> out;
  for (const auto& kv : array_of(o, "kvs"))
    if (kv.is_object()) out.push_back(read_kv(kv.as_object()));
  return out;
}

int64_t header_revision(const json::object& o) {
  return number(object_of(o, "header"), "revision");
}

json::object key_range(const std::string& key, bool prefix) {
  json::object o;
  o["key"] = base64(key);
  if (prefix) o["range_end"] = base64(prefix_end(key));
  return o;
}

namespace {

json::object encode_op(const etcd_txn::op& op) {
  json::object o;
  if (op.type == etcd_txn::op::kind::get) {
    o["request_range"] = key_range(op.key, op.prefix);
    return o;
  }
  if (op.type == etcd_txn::op::kind::erase) {
    o["request_delete_range"] = key_range(op.key, op.prefix);
    return o;
  }
  json::object put = key_range(op.key, false);
  put["value"] = base64(op.value);
  if (op.lease != 0) put["lease"] = std::to_string(op.lease);
  o["request_put"] = std::move(put);
  return o;
}

json::object encode_compare(const etcd_txn::compare& c) {
  // etcd's names of each target and of the field holding the value compared with.
  static constexpr std::pair<const char*, const char*> targets[] = {{"CREATE", "create_revision"},
                                                                    {"MOD", "mod_revision"}};
  const auto [target, field] = targets[static_cast<int>(c.what)];
  json::object o;
  o["key"] = base64(c.key);
  o["result"] = "EQUAL";
  o["target"] = target;
  o[field] = std::to_string(c.revision);
  return o;
}

}  // namespace

std::string encode_txn(const etcd_txn& t) {
  json::object o;
  json::array when, then, otherwise;
  for (const auto& c : t.when)
    when.push_back(encode_compare(c));
  for (const auto& op : t.then)
    then.push_back(encode_op(op));
  for (const auto& op : t.otherwise)
    otherwise.push_back(encode_op(op));
  o["compare"] = std::move(when);
  o["success"] = std::move(then);
  o["failure"] = std::move(otherwise);
  return json::serialize(o);
}

// The gateway's error object, or a streaming call's {"result": ...} unwrapped.
std::string error_of(const json::object& o) {
  if (o.contains("error")) {
    const auto& e = o.at("error");
    if (e.is_string()) return std::string(e.as_string());
    if (e.is_object()) {
      const auto* m = e.as_object().if_contains("message");
      if (m != nullptr && m->is_string()) return std::string(m->as_string());
    }
    return json::serialize(e);
  }
  return {};
}

std::string one_field(const char* name, int64_t value) {
  json::object o;
  o[name] = std::to_string(value);
  return json::serialize(o);
}

etcd_txn_result read_txn_answer(const json::object& o) {
  etcd_txn_result r;
  r.revision = header_revision(o);
  if (const auto* s = o.if_contains("succeeded"); s != nullptr && s->is_bool())
    r.succeeded = s->as_bool();
  for (const auto& resp : array_of(o, "responses"))
    if (resp.is_object())
      for (auto& kv : read_kvs(object_of(resp.as_object(), "response_range")))
        r.got.push_back(std::move(kv));
  return r;
}

std::string read_watch_answer(const json::value& v, std::vector<etcd_event>& events,
                              int64_t& revision) {
  if (!v.is_object()) return {};
  if (auto error = error_of(v.as_object()); !error.empty()) return error;
  const auto& r = object_of(v.as_object(), "result");
  if (r.contains("canceled")) {
    const auto* reason = r.if_contains("cancel_reason");
    return reason != nullptr && reason->is_string()
               ? "etcd canceled the watch: " + std::string(reason->as_string())
               : "etcd canceled the watch";
  }
  for (const auto& e : array_of(r, "events")) {
    if (!e.is_object()) continue;
    const auto* type = e.as_object().if_contains("type");
    events.push_back({type != nullptr && type->is_string() && type->as_string() == "DELETE",
                      read_kv(object_of(e.as_object(), "kv"))});
  }
  revision = header_revision(r);
  return {};
}

}  // namespace ferry::broker::etcd_json
