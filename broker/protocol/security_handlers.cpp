// Users, tokens and access rules (security/security_service.h).
#include "broker/protocol/handlers.h"

namespace ferry::broker::handlers {
namespace {

using codec::body;

template <typename M>
security_reply<M> answer_with(body kind, responder r) {
  return [kind, r](const ferry::error& err, const M& ok) { r.answer(err, kind, ok); };
}

}  // namespace

void create_user(request_context& ctx, const v1::CreateUser& req, responder r) {
  ctx.security.create_user(req, answer_with<v1::UserInfo>(body::user_info, r));
}

void delete_user(request_context& ctx, const v1::DeleteUser& req, responder r) {
  ctx.security.delete_user(req, answer_with<v1::DeleteUserOk>(body::delete_user_ok, r));
}

void list_users(request_context& ctx, const v1::ListUsers&, responder r) {
  v1::UserList out;
  ctx.security.list_users(out);
  r.respond(body::user_list, out);
}

void set_user_password(request_context& ctx, const v1::SetUserPassword& req, responder r) {
  ctx.security.set_user_password(req, answer_with<v1::UserInfo>(body::user_info, r));
}

void set_user_quota(request_context& ctx, const v1::SetUserQuota& req, responder r) {
  ctx.security.set_user_quota(req, answer_with<v1::UserInfo>(body::user_info, r));
}

void create_token(request_context& ctx, const v1::CreateToken& req, responder r) {
  ctx.security.create_token(req, ctx.client.who(),
                            answer_with<v1::TokenCreated>(body::token_created, r));
}

void revoke_token(request_context& ctx, const v1::RevokeToken& req, responder r) {
  ctx.security.revoke_token(req, answer_with<v1::RevokeTokenOk>(body::revoke_token_ok, r));
}

void list_tokens(request_context& ctx, const v1::ListTokens& req, responder r) {
  v1::TokenList out;
  ctx.security.list_tokens(req, out);
  r.respond(body::token_list, out);
}

void add_acl(request_context& ctx, const v1::AddAcl& req, responder r) {
  ctx.security.add_acl(req, answer_with<v1::AddAclOk>(body::add_acl_ok, r));
}

void remove_acl(request_context& ctx, const v1::RemoveAcl& req, responder r) {
  ctx.security.remove_acl(req, answer_with<v1::RemoveAclOk>(body::remove_acl_ok, r));
}

void list_acls(request_context& ctx, const v1::ListAcls& req, responder r) {
  v1::AclList out;
  ctx.security.list_acls(req, out);
  r.respond(body::acl_list, out);
}

}  // namespace ferry::broker::handlers
