#include "broker/security/security_service.h"

#include <algorithm>
#include <optional>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "proto/codec/names.h"
#include "proto/codec/scram.h"

namespace ferry::broker {
namespace {

ferry::error check_user(std::string_view name, const v1::ScramCredential& s) {
  if (auto why = names::check_name(name); !why.empty())
    return fail(errc::invalid_name, "user name " + quoted(name) + ": " + why);
  scram::keys k{s.salt(), s.iterations(), s.stored_key(), s.server_key()};
  if (auto why = scram::check_keys(k); !why.empty())
    return fail(errc::invalid_argument, "scram: " + why);
  return {};
}

ferry::error check_quota(const v1::Quota& q) {
  if (q.max_frame_bytes() != 0 && q.max_frame_bytes() < 4096)
    return fail(errc::invalid_argument, "quota.max_frame_bytes: at least 4096 bytes, or 0");
  return {};
}

ferry::error no_user(std::string_view name) {
  return fail(errc::invalid_argument, "user " + quoted(name) + " does not exist");
}

// The rule with its operations sorted and unique (what is stored and compared).
void normalize(v1::AclRule& r) {
  auto* ops = r.mutable_operations();
  std::sort(ops->begin(), ops->end());
  ops->erase(std::unique(ops->begin(), ops->end()), ops->end());
}

}  // namespace

security_service::security_service(catalog& cat, credentials& creds, acl_authorizer& rules,
                                   const loop_clock& clock)
    : catalog_(cat), creds_(creds), authz_(rules), clock_(clock) {}

void security_service::load(const catalog_snapshot& snap) {
  creds_.load(snap.users, snap.tokens);
  rules_.clear();
  for (const auto& r : snap.acls)
    rules_.emplace(acl::rule_id(r), r);
  publish_rules();
}

void security_service::publish_rules() {
  std::vector<v1::AclRule> all;
  all.reserve(rules_.size());
  for (const auto& [id, r] : rules_)
    all.push_back(r);
  authz_.set_rules(std::move(all));
}

void security_service::commit(catalog_batch b, std::function<void(const ferry::error&)> done,
                              std::function<void()> undo) {
  catalog_.apply(std::move(b),
                 [done = std::move(done), undo = std::move(undo)](const ferry::error& err) {
                   if (err) undo();
                   done(err);
                 });
}

// The user and its rule in one batch, both in force at once: a client that logs in as the
// bootstrap admin right away may already administer.
void security_service::bootstrap(const std::string& user, const std::string& password,
                                 std::function<void(const ferry::error&)> done) {
  if (creds_.user(user) != nullptr) return done({});
  v1::UserRecord rec;
  rec.mutable_info()->set_name(user);
  rec.mutable_info()->set_created_ms(clock_.wall_ms());
  auto k = scram::make_keys(password);
  auto* s = rec.mutable_scram();
  s->set_salt(k.salt);
  s->set_iterations(k.iterations);
  s->set_stored_key(k.stored_key);
  s->set_server_key(k.server_key);
  rec.mutable_info()->set_iterations(k.iterations);
  if (auto err = check_user(user, rec.scram())) return done(err);
  v1::AclRule rule;
  rule.set_principal(user);
  rule.set_resource_kind(v1::RESOURCE_KIND_BROKER);
  rule.add_operations(v1::OPERATION_ADMIN);
  const std::string id = acl::rule_id(rule);
  catalog_batch b;
  b.put_user(rec);
  b.put_acl(id, rule);
  creds_.put_user(std::move(rec));
  auto old = rules_.find(id) == rules_.end() ? std::optional<v1::AclRule>()
                                             : std::optional<v1::AclRule>(rules_[id]);
  rules_.insert_or_assign(id, rule);
  publish_rules();
  commit(
      std::move(b),
      [user, done = std::move(done)](const ferry::error& err) {
        if (!err) log::security().info("bootstrap admin {} created", quoted(user));
        done(err);
      },
      [this, user, id, old] {
        creds_.erase_user(user);
        if (old)
          rules_.insert_or_assign(id, *old);
        else
          rules_.erase(id);
        publish_rules();
      });
}

// ---- users ----

void security_service::store_user(v1::UserRecord rec,
                                  std::function<void(const ferry::error&)> done) {
  std::string name = rec.info().name();
  std::optional<v1::UserRecord> old;
  if (const auto* u = creds_.user(name)) old = *u;
  catalog_batch b;
  b.put_user(rec);
  creds_.put_user(std::move(rec));
  commit(std::move(b), std::move(done), [this, name, old] {
    if (old)
      creds_.put_user(*old);
    else
      creds_.erase_user(name);
  });
}

void security_service::create_user(const v1::CreateUser& req, security_reply<v1::UserInfo> done) {
  if (auto err = check_user(req.name(), req.scram())) return done(err, {});
  for (const auto& g : req.groups())
    if (auto why = names::check_name(g); !why.empty())
      return done(fail(errc::invalid_name, "group " + quoted(g) + ": " + why), {});
  if (auto err = check_quota(req.quota())) return done(err, {});
  if (creds_.user(req.name()) != nullptr)
    return done(fail(errc::invalid_argument, "user " + quoted(req.name()) + " exists"), {});
  v1::UserRecord rec;
  auto* info = rec.mutable_info();
  info->set_name(req.name());
  *info->mutable_groups() = req.groups();
  info->set_iterations(req.scram().iterations());
  info->set_created_ms(clock_.wall_ms());
  if (req.has_quota()) *info->mutable_quota() = req.quota();
  *rec.mutable_scram() = req.scram();
  v1::UserInfo out = *info;
  store_user(std::move(rec), [out, done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("user {} created", quoted(out.name()));
    done(err, out);
  });
}

void security_service::set_user_password(const v1::SetUserPassword& req,
                                         security_reply<v1::UserInfo> done) {
  if (auto err = check_user(req.name(), req.scram())) return done(err, {});
  const v1::UserRecord* old = creds_.user(req.name());
  if (old == nullptr) return done(no_user(req.name()), {});
  v1::UserRecord rec = *old;
  *rec.mutable_scram() = req.scram();
  rec.mutable_info()->set_iterations(req.scram().iterations());
  v1::UserInfo out = rec.info();
  store_user(std::move(rec), [out, done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("password of user {} changed", quoted(out.name()));
    done(err, out);
  });
}

void security_service::set_user_quota(const v1::SetUserQuota& req,
                                      security_reply<v1::UserInfo> done) {
  if (auto err = check_quota(req.quota())) return done(err, {});
  const v1::UserRecord* old = creds_.user(req.name());
  if (old == nullptr) return done(no_user(req.name()), {});
  v1::UserRecord rec = *old;
  *rec.mutable_info()->mutable_quota() = req.quota();
  v1::UserInfo out = rec.info();
  store_user(std::move(rec), [out, done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("quota of user {} set", quoted(out.name()));
    done(err, out);
  });
}

void security_service::delete_user(const v1::DeleteUser& req,
                                   security_reply<v1::DeleteUserOk> done) {
  const v1::UserRecord* u = creds_.user(req.name());
  v1::DeleteUserOk ok;
  if (u == nullptr) return done({}, ok);
  v1::UserRecord old = *u;
  std::vector<v1::TokenRecord> tokens;
  catalog_batch b;
  b.erase_user(req.name());
  for (const auto& [id, t] : creds_.tokens())
    if (t.info().principal() == req.name()) tokens.push_back(t);
  for (const auto& t : tokens) {
    b.erase_token(t.info().id());
    creds_.erase_token(t.info().id());
  }
  creds_.erase_user(req.name());
  ok.set_deleted(true);
  ok.set_tokens_revoked(static_cast<uint32_t>(tokens.size()));
  commit(
      std::move(b),
      [ok, name = req.name(), done = std::move(done)](const ferry::error& err) {
        if (!err) log::security().info("user {} deleted", quoted(name));
        done(err, ok);
      },
      [this, old, tokens] {
        creds_.put_user(old);
        for (const auto& t : tokens)
          creds_.put_token(t);
      });
}

void security_service::list_users(v1::UserList& out) const {
  for (const auto& [name, u] : creds_.users())
    *out.add_users() = u.info();
}

// ---- tokens ----

void security_service::create_token(const v1::CreateToken& req, const principal& caller,
                                    security_reply<v1::TokenCreated> done) {
  std::string who = req.principal().empty() ? caller.name : req.principal();
  if (creds_.user(who) == nullptr) return done(no_user(who), {});
  if (req.ttl_ms() < 0)
    return done(fail(errc::invalid_argument, "ttl_ms must not be negative"), {});
  v1::TokenRecord rec;
  v1::TokenCreated out;
  out.set_token(credentials::make_token(rec));
  auto* info = rec.mutable_info();
  info->set_principal(who);
  info->set_created_ms(clock_.wall_ms());
  info->set_expires_ms(req.ttl_ms() ? info->created_ms() + req.ttl_ms() : 0);
  info->set_description(req.description());
  *out.mutable_info() = *info;
  std::string id = info->id();
  catalog_batch b;
  b.put_token(rec);
  creds_.put_token(std::move(rec));
  commit(
      std::move(b),
      [out, done = std::move(done)](const ferry::error& err) {
        if (!err)
          log::security().info("token {} created for {}", out.info().id(),
                               quoted(out.info().principal()));
        done(err, out);
      },
      [this, id] { creds_.erase_token(id); });
}

void security_service::revoke_token(const v1::RevokeToken& req,
                                    security_reply<v1::RevokeTokenOk> done) {
  v1::RevokeTokenOk ok;
  const v1::TokenRecord* t = creds_.token(req.id());
  if (t == nullptr) return done({}, ok);
  v1::TokenRecord old = *t;
  catalog_batch b;
  b.erase_token(req.id());
  creds_.erase_token(req.id());
  ok.set_revoked(true);
  commit(
      std::move(b),
      [ok, id = req.id(), done = std::move(done)](const ferry::error& err) {
        if (!err) log::security().info("token {} revoked", id);
        done(err, ok);
      },
      [this, old] { creds_.put_token(old); });
}

void security_service::list_tokens(const v1::ListTokens& req, v1::TokenList& out) const {
  for (const auto& [id, t] : creds_.tokens())
    if (req.principal().empty() || t.info().principal() == req.principal())
      *out.add_tokens() = t.info();
}

// ---- access rules ----

void security_service::store_rule(const std::string& id, const v1::AclRule* rule,
                                  std::function<void(const ferry::error&)> done) {
  std::optional<v1::AclRule> old;
  if (auto it = rules_.find(id); it != rules_.end()) old = it->second;
  catalog_batch b;
  if (rule) {
    b.put_acl(id, *rule);
    rules_.insert_or_assign(id, *rule);
  } else {
    b.erase_acl(id);
    rules_.erase(id);
  }
  publish_rules();
  commit(std::move(b), std::move(done), [this, id, old] {
    if (old)
      rules_.insert_or_assign(id, *old);
    else
      rules_.erase(id);
    publish_rules();
  });
}

void security_service::add_acl(const v1::AddAcl& req, security_reply<v1::AddAclOk> done) {
  v1::AclRule rule = req.rule();
  if (auto why = acl::check_rule(rule); !why.empty())
    return done(fail(errc::invalid_argument, "rule: " + why), {});
  std::string id = acl::rule_id(rule);
  if (auto it = rules_.find(id); it != rules_.end())
    for (int op : it->second.operations())
      rule.add_operations(static_cast<v1::Operation>(op));
  normalize(rule);
  v1::AddAclOk ok;
  *ok.mutable_rule() = rule;
  store_rule(id, &rule, [ok, done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("rule added: {}", acl::describe(ok.rule()));
    done(err, ok);
  });
}

void security_service::remove_acl(const v1::RemoveAcl& req, security_reply<v1::RemoveAclOk> done) {
  std::string id = acl::rule_id(req.rule());
  v1::RemoveAclOk ok;
  auto it = rules_.find(id);
  if (it == rules_.end()) return done({}, ok);
  v1::AclRule rule = it->second;
  auto* ops = rule.mutable_operations();
  for (int op : req.rule().operations())
    ops->erase(std::remove(ops->begin(), ops->end(), op), ops->end());
  if (req.rule().operations().empty()) ops->Clear();  // no operations named: the whole rule
  ok.set_removed(rule.operations_size() != it->second.operations_size());
  if (!ok.removed()) return done({}, ok);
  std::string text = acl::describe(it->second);
  store_rule(id, ops->empty() ? nullptr : &rule,
             [ok, text, done = std::move(done)](const ferry::error& err) {
               if (!err) log::security().info("rule changed: was {}", text);
               done(err, ok);
             });
}

void security_service::list_acls(const v1::ListAcls& req, v1::AclList& out) const {
  for (const auto& [id, r] : rules_)
    if (req.principal().empty() || r.principal() == req.principal()) *out.add_rules() = r;
}

}  // namespace ferry::broker
