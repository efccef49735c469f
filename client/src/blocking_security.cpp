// blocking_client: users, tokens and access rules, each the async request waited for.
#include "client/src/blocking_core.h"
#include "ferry/client/blocking_client.h"

namespace ferry::client {

using detail::call;

result<v1::UserInfo> blocking_client::create_user(const v1::CreateUser& req) {
  return call<v1::UserInfo>(
      *impl_->core, [req](client& c, auto done) { c.async_create_user(req, std::move(done)); });
}

result<v1::DeleteUserOk> blocking_client::delete_user(const std::string& name) {
  v1::DeleteUser req;
  req.set_name(name);
  return call<v1::DeleteUserOk>(
      *impl_->core, [req](client& c, auto done) { c.async_delete_user(req, std::move(done)); });
}

result<v1::UserList> blocking_client::list_users() {
  return call<v1::UserList>(*impl_->core, [](client& c, auto done) {
    c.async_list_users(v1::ListUsers(), std::move(done));
  });
}

result<v1::UserInfo> blocking_client::set_user_password(const v1::SetUserPassword& req) {
  return call<v1::UserInfo>(*impl_->core, [req](client& c, auto done) {
    c.async_set_user_password(req, std::move(done));
  });
}

result<v1::UserInfo> blocking_client::set_user_quota(const v1::SetUserQuota& req) {
  return call<v1::UserInfo>(
      *impl_->core, [req](client& c, auto done) { c.async_set_user_quota(req, std::move(done)); });
}

result<v1::TokenCreated> blocking_client::create_token(const v1::CreateToken& req) {
  return call<v1::TokenCreated>(
      *impl_->core, [req](client& c, auto done) { c.async_create_token(req, std::move(done)); });
}

result<v1::RevokeTokenOk> blocking_client::revoke_token(const std::string& id) {
  v1::RevokeToken req;
  req.set_id(id);
  return call<v1::RevokeTokenOk>(
      *impl_->core, [req](client& c, auto done) { c.async_revoke_token(req, std::move(done)); });
}

result<v1::TokenList> blocking_client::list_tokens(const std::string& principal) {
  v1::ListTokens req;
  req.set_principal(principal);
  return call<v1::TokenList>(
      *impl_->core, [req](client& c, auto done) { c.async_list_tokens(req, std::move(done)); });
}

result<v1::AddAclOk> blocking_client::add_acl(const v1::AclRule& rule) {
  v1::AddAcl req;
  *req.mutable_rule() = rule;
  return call<v1::AddAclOk>(*impl_->core,
                            [req](client& c, auto done) { c.async_add_acl(req, std::move(done)); });
}

result<v1::RemoveAclOk> blocking_client::remove_acl(const v1::AclRule& rule) {
  v1::RemoveAcl req;
  *req.mutable_rule() = rule;
  return call<v1::RemoveAclOk>(
      *impl_->core, [req](client& c, auto done) { c.async_remove_acl(req, std::move(done)); });
}

result<v1::AclList> blocking_client::list_acls(const std::string& principal) {
  v1::ListAcls req;
  req.set_principal(principal);
  return call<v1::AclList>(
      *impl_->core, [req](client& c, auto done) { c.async_list_acls(req, std::move(done)); });
}

result<v1::WhoAmIOk> blocking_client::who_am_i() {
  return call<v1::WhoAmIOk>(*impl_->core,
                            [](client& c, auto done) { c.async_who_am_i(std::move(done)); });
}

}  // namespace ferry::client
