// security_service: users, tokens and access rules, for every front end (the binary
// protocol's security requests, the REST API, the bootstrap admin at start). Like the
// topic service it changes the in-memory state first (a login pipelined after CreateUser
// finds the user), stores the change through the catalog, answers once it is durable, and
// undoes the change if storing failed. Secrets never leave it: listings carry no keys and
// no token hashes; a token's text is returned once, when it is made. Loop only.
#pragma once

#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>

#include "ferry/v1/security.pb.h"

#include "broker/catalog/catalog.h"
#include "broker/core/clock.h"
#include "broker/security/acl_authorizer.h"
#include "broker/security/credentials.h"

namespace ferry::broker {

template <typename Result>
using security_reply = std::function<void(const ferry::error&, const Result&)>;

class security_service {
 public:
  security_service(catalog& cat, credentials& creds, acl_authorizer& rules,
                   const loop_clock& clock);

  // What the catalog holds, at start.
  void load(const catalog_snapshot& snap);
  // The first admin: created with `password` and an ADMIN rule on the broker when there is
  // no such user yet (an existing one is left as it is).
  void bootstrap(const std::string& user, const std::string& password,
                 std::function<void(const ferry::error&)> done);

  void create_user(const v1::CreateUser& req, security_reply<v1::UserInfo> done);
  void delete_user(const v1::DeleteUser& req, security_reply<v1::DeleteUserOk> done);
  void set_user_password(const v1::SetUserPassword& req, security_reply<v1::UserInfo> done);
  void set_user_quota(const v1::SetUserQuota& req, security_reply<v1::UserInfo> done);
  void list_users(v1::UserList& out) const;
  bool has_user(std::string_view name) const { return creds_.user(name) != nullptr; }
  bool has_users() const { return !creds_.users().empty(); }

  // `caller` makes a token for req.principal() (empty: for itself).
  void create_token(const v1::CreateToken& req, const principal& caller,
                    security_reply<v1::TokenCreated> done);
  void revoke_token(const v1::RevokeToken& req, security_reply<v1::RevokeTokenOk> done);
  void list_tokens(const v1::ListTokens& req, v1::TokenList& out) const;

  void add_acl(const v1::AddAcl& req, security_reply<v1::AddAclOk> done);
  void remove_acl(const v1::RemoveAcl& req, security_reply<v1::RemoveAclOk> done);
  void list_acls(const v1::ListAcls& req, v1::AclList& out) const;

  // What WhoAmI answers for `who` (both front ends).
  static v1::WhoAmIOk who_am_i(const principal& who);

 private:
  // Every change goes through here: each key of `b` changes in memory at once (a login or
  // a request pipelined after it sees it), then `b` is stored, and `done` is called with
  // the outcome. When a write fails and no later write of a key is still pending, the key
  // goes back to its last stored value (not to what it was when this request came: a
  // later change may have failed too, or succeeded).
  void apply(catalog_batch b, std::function<void(const ferry::error&)> done);
  // A key's value in memory (a serialized record), or none.
  std::optional<std::string> current(const std::string& key) const;
  void set_memory(const std::string& key, const std::optional<std::string>& value);
  void publish_rules();
  void edit_user(const std::string& name, const std::function<void(v1::UserRecord&)>& edit,
                 const char* what, security_reply<v1::UserInfo> done);

  struct key_state {
    int pending = 0;                     // writes of the key not yet answered
    std::optional<std::string> durable;  // its value as last stored
  };

  catalog& catalog_;
  credentials& creds_;
  acl_authorizer& authz_;
  const loop_clock& clock_;
  std::map<std::string, v1::AclRule> rules_;    // by acl::rule_id
  std::map<std::string, key_state> in_flight_;  // by catalog key
};

}  // namespace ferry::broker
