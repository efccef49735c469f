// principal: who sends a session's requests (or an HTTP request), as the authenticator
// found out (security/authorizer.h); every request is authorized as it.
#pragma once

#include <string>
#include <vector>

namespace ferry::broker {

struct principal {
  std::string name = "anonymous";
  std::vector<std::string> groups;  // access rules may name "group:NAME"
  // "SCRAM-SHA-256", "TOKEN", "TLS" (a client certificate), "NONE" (authentication off)
  std::string mechanism = "NONE";
};

}  // namespace ferry::broker
