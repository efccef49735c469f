// secure_broker: a real ferryd with authentication on and a bootstrap admin ("root"), for
// the security tests; its log goes to a file the test can read.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/test_helpers.h"

namespace ferry::testing {

inline constexpr const char* root_password = "root-Secret-4242";

struct secure_broker {
  explicit secure_broker(std::vector<std::string> extra = {})
      : dir(make_temp_dir("ferry-sec")), log_file(dir + "/ferryd.log") {
    std::ofstream(dir + "/bootstrap") << root_password << "\n";
    std::vector<std::string> args{"--set", "auth.enabled=true",
                                  "--set", "auth.bootstrap_user=root",
                                  "--set", "auth.bootstrap_password_file=" + dir + "/bootstrap"};
    args.insert(args.end(), extra.begin(), extra.end());
    broker = std::make_unique<broker_process>(args, dir + "/data", log_file);
  }

  fc::client_options options(const std::string& user, const std::string& password) const {
    auto o = options_for(*broker);
    o.creds.username = user;
    o.creds.password = password;
    return o;
  }
  fc::client_options token_options(const std::string& token) const {
    auto o = options_for(*broker);
    o.creds.token = token;
    return o;
  }
  // Connects as `user`, failing the test if the broker refuses.
  std::unique_ptr<fc::blocking_client> login(const std::string& user,
                                             const std::string& password) const {
    auto r = fc::blocking_client::connect(options(user, password));
    if (!r) FAIL("login as " << user << ": " << r.err().to_string());
    return std::move(r.value());
  }
  std::unique_ptr<fc::blocking_client> root() const { return login("root", root_password); }

  std::string log() const { return read_file(log_file); }

  std::string dir;
  std::string log_file;
  std::unique_ptr<broker_process> broker;
};

inline void create_user(fc::blocking_client& admin, const std::string& name,
                        const std::string& password, std::vector<std::string> groups = {}) {
  v1::CreateUser req;
  req.set_name(name);
  *req.mutable_scram() = fc::make_scram_credential(password);
  for (auto& g : groups)
    req.add_groups(g);
  auto r = admin.create_user(req);
  if (!r) FAIL("create_user " << name << ": " << r.err().to_string());
}

inline v1::AclRule rule(const std::string& principal, v1::ResourceKind kind,
                        const std::string& pattern, std::vector<v1::Operation> ops,
                        bool deny = false) {
  v1::AclRule r;
  r.set_principal(principal);
  r.set_resource_kind(kind);
  r.set_pattern(pattern);
  for (auto op : ops)
    r.add_operations(op);
  r.set_deny(deny);
  return r;
}

inline void allow(fc::blocking_client& admin, const v1::AclRule& r) {
  auto res = admin.add_acl(r);
  if (!res) FAIL("add_acl: " << res.err().to_string());
}

}  // namespace ferry::testing
