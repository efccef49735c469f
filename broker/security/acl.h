// acl: access rules and the decision they make. A rule names a principal (a user,
// "group:NAME" or "*"), a kind of resource, a pattern of names with the topic wildcards
// (`orders.*`, `orders.>`), operations, and whether it allows or denies. A request is
// allowed when an allow rule covers it and no deny rule touches it: deny wins, and
// nothing is allowed by default. ADMIN on the broker allows everything; an allow rule for
// publish, consume, delete or alter also allows describe on the same resources.
//
// A request may itself name a pattern (an ephemeral subscription on `orders.>`, a list of
// `orders.*`): an allow rule must then cover every name the pattern can match, and a deny
// rule applies when it can match any of them.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "ferry/v1/security.pb.h"

#include "broker/security/authorizer.h"

namespace ferry::broker::acl {

// Whether every name `requested` can match is matched by `rule` (both valid patterns;
// plain names are patterns too).
bool covers(std::string_view rule, std::string_view requested);
// Whether some name is matched by both.
bool intersects(std::string_view a, std::string_view b);

// The wire's kinds and operations and ours.
bool from_wire(v1::ResourceKind k, resource_kind& out);
v1::ResourceKind to_wire(resource_kind k);
bool from_wire(v1::Operation op, operation& out);
v1::Operation to_wire(operation op);

// Empty when `r` is a rule that can be stored (principal, kind, pattern, operations),
// else why not.
std::string check_rule(const v1::AclRule& r);
// The rule's identity: its stored key (meta_keys::acl) and what add/remove merge on.
std::string rule_id(const v1::AclRule& r);
// "allow alice consume on topic orders.>" for listings and logs.
std::string describe(const v1::AclRule& r);

class rules {
 public:
  void set(std::vector<v1::AclRule> all);
  const std::vector<v1::AclRule>& all() const { return rules_; }
  // Whether `who` may do `op` on the resource: deny wins, default deny.
  bool allows(const principal& who, resource_kind kind, std::string_view name, operation op) const;

 private:
  std::vector<v1::AclRule> rules_;
};

}  // namespace ferry::broker::acl
