#include "broker/security/security_service.h"

#include <algorithm>
#include <optional>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "proto/codec/names.h"
#include "proto/codec/scram.h"
#include "storage/meta_keys.h"

namespace ferry::broker {
namespace {

namespace keys = storage::meta_keys;
constexpr int64_t max_token_ttl_ms = 100LL * 366 * 24 * 3600 * 1000;

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

// ---- memory and storage ----

std::optional<std::string> security_service::current(const std::string& key) const {
  std::string_view k = key;
  if (k.starts_with(keys::user_prefix)) {
    if (const auto* u = creds_.user(k.substr(keys::user_prefix.size())))
      return u->SerializeAsString();
  } else if (k.starts_with(keys::token_prefix)) {
    if (const auto* t = creds_.token(k.substr(keys::token_prefix.size())))
      return t->SerializeAsString();
  } else if (k.starts_with(keys::acl_prefix)) {
    if (auto it = rules_.find(std::string(k.substr(keys::acl_prefix.size()))); it != rules_.end())
      return it->second.SerializeAsString();
  }
  return std::nullopt;
}

void security_service::set_memory(const std::string& key, const std::optional<std::string>& value) {
  std::string_view k = key;
  if (k.starts_with(keys::user_prefix)) {
    v1::UserRecord u;
    if (value && u.ParseFromString(*value))
      creds_.put_user(std::move(u));
    else
      creds_.erase_user(k.substr(keys::user_prefix.size()));
  } else if (k.starts_with(keys::token_prefix)) {
    v1::TokenRecord t;
    if (value && t.ParseFromString(*value))
      creds_.put_token(std::move(t));
    else
      creds_.erase_token(k.substr(keys::token_prefix.size()));
  } else if (k.starts_with(keys::acl_prefix)) {
    std::string id(k.substr(keys::acl_prefix.size()));
    v1::AclRule r;
    if (value && r.ParseFromString(*value))
      rules_.insert_or_assign(id, std::move(r));
    else
      rules_.erase(id);
    publish_rules();
  }
}

void security_service::apply(catalog_batch b, std::function<void(const ferry::error&)> done) {
  std::vector<std::pair<std::string, std::optional<std::string>>> written;
  for (const auto& c : b.changes()) {
    key_state& st = in_flight_[c.key];
    if (st.pending++ == 0) st.durable = current(c.key);
    set_memory(c.key, c.value);
    written.emplace_back(c.key, c.value);
  }
  catalog_.apply(std::move(b), [this, written = std::move(written),
                                done = std::move(done)](const ferry::error& err) {
    for (const auto& [key, value] : written) {
      auto it = in_flight_.find(key);
      key_state& st = it->second;
      if (!err) st.durable = value;
      if (--st.pending > 0) continue;
      if (err) set_memory(key, st.durable);
      in_flight_.erase(it);
    }
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
  catalog_batch b;
  b.put_user(rec);
  b.put_acl(acl::rule_id(rule), rule);
  apply(std::move(b), [user, done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("bootstrap admin {} created", quoted(user));
    done(err);
  });
}

// ---- users ----

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
  catalog_batch b;
  b.put_user(rec);
  apply(std::move(b), [out = rec.info(), done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("user {} created", quoted(out.name()));
    done(err, out);
  });
}

// A change of one existing user's record: `edit` changes a copy, which is stored.
void security_service::edit_user(const std::string& name,
                                 const std::function<void(v1::UserRecord&)>& edit, const char* what,
                                 security_reply<v1::UserInfo> done) {
  const v1::UserRecord* old = creds_.user(name);
  if (old == nullptr) return done(no_user(name), {});
  v1::UserRecord rec = *old;
  edit(rec);
  catalog_batch b;
  b.put_user(rec);
  apply(std::move(b), [out = rec.info(), what, done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("{} of user {} changed", what, quoted(out.name()));
    done(err, out);
  });
}

void security_service::set_user_password(const v1::SetUserPassword& req,
                                         security_reply<v1::UserInfo> done) {
  if (auto err = check_user(req.name(), req.scram())) return done(err, {});
  edit_user(
      req.name(),
      [&req](v1::UserRecord& rec) {
        *rec.mutable_scram() = req.scram();
        rec.mutable_info()->set_iterations(req.scram().iterations());
      },
      "password", std::move(done));
}

void security_service::set_user_quota(const v1::SetUserQuota& req,
                                      security_reply<v1::UserInfo> done) {
  if (auto err = check_quota(req.quota())) return done(err, {});
  edit_user(
      req.name(),
      [&req](v1::UserRecord& rec) { *rec.mutable_info()->mutable_quota() = req.quota(); }, "quota",
      std::move(done));
}

void security_service::delete_user(const v1::DeleteUser& req,
                                   security_reply<v1::DeleteUserOk> done) {
  v1::DeleteUserOk ok;
  if (creds_.user(req.name()) == nullptr) return done({}, ok);
  catalog_batch b;
  b.erase_user(req.name());
  uint32_t tokens = 0;
  for (const auto& [id, t] : creds_.tokens())
    if (t.info().principal() == req.name()) {
      b.erase_token(id);
      ++tokens;
    }
  ok.set_deleted(true);
  ok.set_tokens_revoked(tokens);
  apply(std::move(b), [ok, name = req.name(), done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("user {} deleted", quoted(name));
    done(err, ok);
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
  if (req.ttl_ms() < 0 || req.ttl_ms() > max_token_ttl_ms)
    return done(fail(errc::invalid_argument, "ttl_ms must be between 0 and 100 years"), {});
  v1::TokenRecord rec;
  v1::TokenCreated out;
  out.set_token(credentials::make_token(rec));
  auto* info = rec.mutable_info();
  info->set_principal(who);
  info->set_created_ms(clock_.wall_ms());
  info->set_expires_ms(req.ttl_ms() ? info->created_ms() + req.ttl_ms() : 0);
  info->set_description(req.description());
  *out.mutable_info() = *info;
  catalog_batch b;
  b.put_token(rec);
  apply(std::move(b), [out, done = std::move(done)](const ferry::error& err) {
    if (!err)
      log::security().info("token {} created for {}", out.info().id(),
                           quoted(out.info().principal()));
    done(err, out);
  });
}

void security_service::revoke_token(const v1::RevokeToken& req,
                                    security_reply<v1::RevokeTokenOk> done) {
  v1::RevokeTokenOk ok;
  if (creds_.token(req.id()) == nullptr) return done({}, ok);
  ok.set_revoked(true);
  catalog_batch b;
  b.erase_token(req.id());
  apply(std::move(b), [ok, id = req.id(), done = std::move(done)](const ferry::error& err) {
    if (!err) log::security().info("token {} revoked", id);
    done(err, ok);
  });
}

void security_service::list_tokens(const v1::ListTokens& req, v1::TokenList& out) const {
  for (const auto& [id, t] : creds_.tokens())
    if (req.principal().empty() || t.info().principal() == req.principal())
      *out.add_tokens() = t.info();
}

// ---- access rules ----

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
  catalog_batch b;
  b.put_acl(id, rule);
  apply(std::move(b), [ok, done = std::move(done)](const ferry::error& err) {
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
  catalog_batch b;
  if (ops->empty())
    b.erase_acl(id);
  else
    b.put_acl(id, rule);
  apply(std::move(b),
        [ok, text = acl::describe(it->second), done = std::move(done)](const ferry::error& err) {
          if (!err) log::security().info("rule changed: was {}", text);
          done(err, ok);
        });
}

void security_service::list_acls(const v1::ListAcls& req, v1::AclList& out) const {
  for (const auto& [id, r] : rules_)
    if (req.principal().empty() || r.principal() == req.principal()) *out.add_rules() = r;
}

v1::WhoAmIOk security_service::who_am_i(const principal& who) {
  v1::WhoAmIOk ok;
  ok.set_principal(who.name);
  for (const auto& g : who.groups)
    ok.add_groups(g);
  ok.set_mechanism(who.mechanism);
  return ok;
}

}  // namespace ferry::broker
