// The REST API of users, tokens and access rules, on security_service (the same calls the
// binary protocol's handlers make). Bodies and answers are the ferry.v1 security messages
// as JSON; a user's keys are a ScramCredential (`ferry user create` derives them from a
// password on the client's side, so no password is sent here either).
#include "ferry/v1/security.pb.h"

#include "broker/http/rest.h"
#include "broker/http/routes.h"
#include "broker/security/security_service.h"

namespace ferry::broker {

namespace {

const route_access admin = on_broker(operation::admin);

void add_user_routes(router& r, security_service& sec) {
  r.add({"GET",
         "/v1/users",
         "Lists users (UserList: names and groups, never keys).",
         admin,
         [&sec](const http_request&, http_reply done) {
           v1::UserList out;
           sec.list_users(out);
           done(json_response(to_json_text(out)));
         },
         nullptr,
         v1::UserList::descriptor(),
         {},
         200});
  r.add({"POST",
         "/v1/users",
         "Creates a user (a CreateUser body); 201 with its UserInfo.",
         admin,
         [&sec](const http_request& req, http_reply done) {
           v1::CreateUser cu;
           if (!parse_body(req, cu, done)) return;
           sec.create_user(cu, answer<v1::UserInfo>(std::move(done), 201));
         },
         v1::CreateUser::descriptor(),
         v1::UserInfo::descriptor(),
         {},
         201});
  r.add({"DELETE",
         "/v1/users/{name}",
         "Deletes a user and its tokens.",
         admin,
         [&sec](const http_request& req, http_reply done) {
           v1::DeleteUser du;
           du.set_name(req.params[0]);
           sec.delete_user(du, answer<v1::DeleteUserOk>(std::move(done)));
         },
         nullptr,
         v1::DeleteUserOk::descriptor(),
         {},
         200});
}

// A user's own record: its keys (its own, or anyone's with ADMIN), its quota (ADMIN).
void add_user_item_routes(router& r, security_service& sec) {
  r.add({"PUT",
         "/v1/users/{name}/password",
         "Sets a user's keys (a SetUserPassword body; the name comes from the path): one's own, "
         "or anyone's with ADMIN.",
         on_param(resource_kind::user, operation::alter),
         [&sec](const http_request& req, http_reply done) {
           v1::SetUserPassword sp;
           if (!parse_body(req, sp, done)) return;
           sp.set_name(req.params[0]);
           sec.set_user_password(sp, answer<v1::UserInfo>(std::move(done)));
         },
         v1::SetUserPassword::descriptor(),
         v1::UserInfo::descriptor(),
         {},
         200});
  r.add({"PUT",
         "/v1/users/{name}/quota",
         "Sets a user's quota (a SetUserQuota body; the name comes from the path).",
         admin,
         [&sec](const http_request& req, http_reply done) {
           v1::SetUserQuota sq;
           if (!parse_body(req, sq, done)) return;
           sq.set_name(req.params[0]);
           sec.set_user_quota(sq, answer<v1::UserInfo>(std::move(done)));
         },
         v1::SetUserQuota::descriptor(),
         v1::UserInfo::descriptor(),
         {},
         200});
}

void add_token_routes(router& r, security_service& sec) {
  r.add({"GET",
         "/v1/tokens",
         "Lists tokens (?principal= one user's), never their secrets.",
         admin,
         [&sec](const http_request& req, http_reply done) {
           v1::ListTokens lt;
           lt.set_principal(query_or_empty(req, "principal"));
           v1::TokenList out;
           sec.list_tokens(lt, out);
           done(json_response(to_json_text(out)));
         },
         nullptr,
         v1::TokenList::descriptor(),
         {"principal"},
         200});
  r.add({"POST",
         "/v1/tokens",
         "Creates a token (a CreateToken body) for oneself, or for anyone with ADMIN; 201 with "
         "the token, shown this once.",
         body_names<v1::CreateToken>(
             [](const http_request&, const v1::CreateToken& m, access_targets& t) {
               t.add(resource_kind::user, m.principal(), operation::alter);
             }),
         [&sec](const http_request& req, http_reply done) {
           v1::CreateToken ct;
           if (!parse_body(req, ct, done)) return;
           sec.create_token(ct, req.who, answer<v1::TokenCreated>(std::move(done), 201));
         },
         v1::CreateToken::descriptor(),
         v1::TokenCreated::descriptor(),
         {},
         201});
  r.add({"DELETE",
         "/v1/tokens/{id}",
         "Revokes a token.",
         admin,
         [&sec](const http_request& req, http_reply done) {
           v1::RevokeToken rt;
           rt.set_id(req.params[0]);
           sec.revoke_token(rt, answer<v1::RevokeTokenOk>(std::move(done)));
         },
         nullptr,
         v1::RevokeTokenOk::descriptor(),
         {},
         200});
}

void add_acl_routes(router& r, security_service& sec) {
  r.add({"GET",
         "/v1/acls",
         "Lists access rules (?principal= those naming it).",
         admin,
         [&sec](const http_request& req, http_reply done) {
           v1::ListAcls la;
           la.set_principal(query_or_empty(req, "principal"));
           v1::AclList out;
           sec.list_acls(la, out);
           done(json_response(to_json_text(out)));
         },
         nullptr,
         v1::AclList::descriptor(),
         {"principal"},
         200});
  r.add({"POST",
         "/v1/acls",
         "Adds a rule (an AddAcl body); operations merge into a rule of the same principal, "
         "kind, pattern and effect. Answers with the rule as stored.",
         admin,
         [&sec](const http_request& req, http_reply done) {
           v1::AddAcl add;
           if (!parse_body(req, add, done)) return;
           sec.add_acl(add, answer<v1::AddAclOk>(std::move(done)));
         },
         v1::AddAcl::descriptor(),
         v1::AddAclOk::descriptor(),
         {},
         200});
  r.add({"POST",
         "/v1/acls/remove",
         "Removes operations of a rule (a RemoveAcl body; none named: the whole rule).",
         admin,
         [&sec](const http_request& req, http_reply done) {
           v1::RemoveAcl rm;
           if (!parse_body(req, rm, done)) return;
           sec.remove_acl(rm, answer<v1::RemoveAclOk>(std::move(done)));
         },
         v1::RemoveAcl::descriptor(),
         v1::RemoveAclOk::descriptor(),
         {},
         200});
  r.add({"GET",
         "/v1/whoami",
         "Who the broker takes the caller to be (WhoAmIOk).",
         on_broker(operation::connect),
         [](const http_request& req, http_reply done) {
           done(json_response(to_json_text(security_service::who_am_i(req.who))));
         },
         nullptr,
         v1::WhoAmIOk::descriptor(),
         {},
         200});
}

}  // namespace

void add_security_routes(router& r, security_service& sec) {
  add_user_routes(r, sec);
  add_user_item_routes(r, sec);
  add_token_routes(r, sec);
  add_acl_routes(r, sec);
}

}  // namespace ferry::broker
