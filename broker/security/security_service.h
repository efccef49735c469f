// security_service: users, tokens and access rules, for every front end (the binary
// protocol's security requests, the REST API, the bootstrap admin at start). Like the
// topic service it changes the in-memory state first (a login pipelined after CreateUser
// finds the user), stores the change through the catalog, answers once it is durable, and
// undoes the change if storing failed. Secrets never leave it: listings carry no keys and
// no token hashes; a token's text is returned once, when it is made. Loop only.
#pragma once

#include <functional>
#include <map>
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

 private:
  // Stores `b`; on failure runs `undo` before `done`.
  void commit(catalog_batch b, std::function<void(const ferry::error&)> done,
              std::function<void()> undo);
  void publish_rules();
  // An edit of one user record, stored; the old record comes back on failure.
  void store_user(v1::UserRecord rec, std::function<void(const ferry::error&)> done);
  void store_rule(const std::string& id, const v1::AclRule* rule,
                  std::function<void(const ferry::error&)> done);

  catalog& catalog_;
  credentials& creds_;
  acl_authorizer& authz_;
  const loop_clock& clock_;
  std::map<std::string, v1::AclRule> rules_;  // by acl::rule_id
};

}  // namespace ferry::broker
