// acl_authorizer: the authorizer once authentication is on. Decides by the access rules
// (acl.h), remembers each decision until the rules change (so a producer's publishes cost
// one lookup, not a rule walk), and logs every denial as an audit line of the security
// logger: who, what, on which resource; never a secret. Loop only.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "broker/security/acl.h"
#include "broker/security/authorizer.h"

namespace ferry::broker {

class acl_authorizer final : public authorizer {
 public:
  void set_rules(std::vector<v1::AclRule> all);
  const acl::rules& rules() const { return rules_; }

  // authorizer
  ferry::error authorize(const principal& who, resource_kind kind, std::string_view name,
                         operation op) override;

 private:
  static constexpr size_t max_cached = 65536;
  acl::rules rules_;
  std::unordered_map<std::string, bool> decided_;
  std::string key_;  // scratch: no allocation per lookup once it has grown
};

}  // namespace ferry::broker
