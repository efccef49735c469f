#include "broker/security/acl.h"

#include <algorithm>

#include "proto/codec/names.h"
#include "proto/codec/scram.h"

namespace ferry::broker::acl {
namespace {

std::vector<std::string_view> tokens(std::string_view s) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  for (;;) {
    size_t dot = s.find('.', pos);
    out.push_back(s.substr(pos, dot == s.npos ? s.npos : dot - pos));
    if (dot == s.npos) return out;
    pos = dot + 1;
  }
}

bool principal_matches(std::string_view rule, const principal& who) {
  if (rule == "*" || rule == who.name) return true;
  if (!rule.starts_with("group:")) return false;
  rule.remove_prefix(6);
  return std::find(who.groups.begin(), who.groups.end(), rule) != who.groups.end();
}

bool has_operation(const v1::AclRule& r, operation op) {
  for (int o : r.operations())
    if (o == v1::OPERATION_ADMIN || o == static_cast<int>(to_wire(op))) return true;
  return false;
}

// What an allow rule grants: its operations, and DESCRIBE with any that reads or changes
// the resource (as in Kafka: a producer may look up the topic it writes to).
bool grants(const v1::AclRule& r, operation op) {
  if (has_operation(r, op)) return true;
  if (op != operation::describe) return false;
  for (auto implied : {operation::publish, operation::consume, operation::remove, operation::alter})
    if (has_operation(r, implied)) return true;
  return false;
}

bool is_superuser_rule(const v1::AclRule& r) {
  return r.resource_kind() == v1::RESOURCE_KIND_BROKER && has_operation(r, operation::admin);
}

}  // namespace

bool covers(std::string_view rule, std::string_view requested) {
  auto r = tokens(rule), q = tokens(requested);
  for (size_t i = 0; i < r.size(); ++i) {
    if (r[i] == ">") return q.size() > i;
    if (i >= q.size() || q[i] == ">") return false;
    if (r[i] != "*" && r[i] != q[i]) return false;
  }
  return r.size() == q.size();
}

bool intersects(std::string_view a, std::string_view b) {
  auto x = tokens(a), y = tokens(b);
  for (size_t i = 0;; ++i) {
    bool x_end = i >= x.size(), y_end = i >= y.size();
    if (x_end || y_end) return x_end && y_end;
    if (x[i] == ">" || y[i] == ">") return true;
    if (x[i] != "*" && y[i] != "*" && x[i] != y[i]) return false;
  }
}

bool from_wire(v1::ResourceKind k, resource_kind& out) {
  switch (k) {
    case v1::RESOURCE_KIND_TOPIC: out = resource_kind::topic; return true;
    case v1::RESOURCE_KIND_SUBSCRIPTION: out = resource_kind::subscription; return true;
    case v1::RESOURCE_KIND_GROUP: out = resource_kind::group; return true;
    case v1::RESOURCE_KIND_BROKER: out = resource_kind::broker; return true;
    default: return false;
  }
}

v1::ResourceKind to_wire(resource_kind k) {
  switch (k) {
    case resource_kind::topic: return v1::RESOURCE_KIND_TOPIC;
    case resource_kind::subscription: return v1::RESOURCE_KIND_SUBSCRIPTION;
    case resource_kind::group: return v1::RESOURCE_KIND_GROUP;
    case resource_kind::broker: return v1::RESOURCE_KIND_BROKER;
    default: return v1::RESOURCE_KIND_UNSPECIFIED;
  }
}

bool from_wire(v1::Operation op, operation& out) {
  switch (op) {
    case v1::OPERATION_PUBLISH: out = operation::publish; return true;
    case v1::OPERATION_CONSUME: out = operation::consume; return true;
    case v1::OPERATION_CREATE: out = operation::create; return true;
    case v1::OPERATION_DELETE: out = operation::remove; return true;
    case v1::OPERATION_DESCRIBE: out = operation::describe; return true;
    case v1::OPERATION_ALTER: out = operation::alter; return true;
    case v1::OPERATION_ADMIN: out = operation::admin; return true;
    default: return false;
  }
}

v1::Operation to_wire(operation op) {
  switch (op) {
    case operation::publish: return v1::OPERATION_PUBLISH;
    case operation::consume: return v1::OPERATION_CONSUME;
    case operation::create: return v1::OPERATION_CREATE;
    case operation::remove: return v1::OPERATION_DELETE;
    case operation::describe: return v1::OPERATION_DESCRIBE;
    case operation::alter: return v1::OPERATION_ALTER;
    case operation::admin: return v1::OPERATION_ADMIN;
    default: return v1::OPERATION_UNSPECIFIED;
  }
}

std::string check_rule(const v1::AclRule& r) {
  std::string_view p = r.principal();
  std::string_view user = p.starts_with("group:") ? p.substr(6) : p;
  if (p != "*" && !names::check_name(user).empty())
    return "principal " + std::string(p) + ": a user name, group:NAME or *";
  resource_kind kind;
  if (!from_wire(r.resource_kind(), kind)) return "resource_kind is not set";
  if (kind == resource_kind::broker) {
    if (!r.pattern().empty()) return "a broker rule has no pattern";
  } else if (auto why = names::check_pattern(r.pattern()); !why.empty()) {
    return "pattern " + r.pattern() + ": " + why;
  }
  if (r.operations().empty()) return "a rule needs at least one operation";
  for (int o : r.operations()) {
    operation op;
    if (!v1::Operation_IsValid(o) || !from_wire(static_cast<v1::Operation>(o), op))
      return "operation " + std::to_string(o) + " is not one";
  }
  return {};
}

std::string rule_id(const v1::AclRule& r) {
  resource_kind kind = resource_kind::broker;
  from_wire(r.resource_kind(), kind);
  return std::string(to_string(kind)) + "/" + (r.deny() ? "deny" : "allow") + "/" + r.principal() +
         "/" + r.pattern();
}

std::string describe(const v1::AclRule& r) {
  std::string out = std::string(r.deny() ? "deny " : "allow ") + r.principal() + " ";
  for (int i = 0; i < r.operations_size(); ++i) {
    operation op;
    if (i) out += ",";
    out += from_wire(static_cast<v1::Operation>(r.operations(i)), op) ? to_string(op) : "?";
  }
  resource_kind kind = resource_kind::broker;
  from_wire(r.resource_kind(), kind);
  out += " on " + std::string(to_string(kind));
  if (!r.pattern().empty()) out += " " + r.pattern();
  return out;
}

void rules::set(std::vector<v1::AclRule> all) {
  rules_ = std::move(all);
}

bool rules::allows(const principal& who, resource_kind kind, std::string_view name,
                   operation op) const {
  if (op == operation::connect || kind == resource_kind::consumer) return true;
  auto kind_wire = to_wire(kind);
  for (const auto& r : rules_) {
    if (!r.deny() || !principal_matches(r.principal(), who) || !has_operation(r, op)) continue;
    if (is_superuser_rule(r)) return false;
    if (r.resource_kind() == kind_wire &&
        (kind == resource_kind::broker || intersects(r.pattern(), name)))
      return false;
  }
  // A user's own record (its password, tokens for itself), for a session that proved the
  // password: a token (or a certificate) must not mint tokens that outlive it.
  if (kind == resource_kind::user && (name.empty() || name == who.name) &&
      who.mechanism == scram::mechanism && (op == operation::alter || op == operation::describe))
    return true;
  // An empty name is no resource: only ADMIN covers it (the service fills in a name of its
  // own choosing after this check, e.g. a group's topic, or the caller for a token).
  const bool nameless = name.empty() && kind != resource_kind::broker;
  for (const auto& r : rules_) {
    if (r.deny() || !principal_matches(r.principal(), who)) continue;
    if (is_superuser_rule(r)) return true;
    if (!nameless && r.resource_kind() == kind_wire && grants(r, op) &&
        (kind == resource_kind::broker || covers(r.pattern(), name)))
      return true;
  }
  return false;
}

}  // namespace ferry::broker::acl
