// ferry user|token|acl|whoami: users, tokens and access rules (docs/SECURITY.md).
//
// Passwords are turned into SCRAM-SHA-256 keys here, before anything is sent: the broker
// stores the keys, and no password crosses the wire. A password not given with --password
// is read from the first line of stdin, so it need not appear in a process list.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace ferry::cli {

namespace {

// Runs `f` on a connected client; its exit code, or the connection's failure.
template <typename F>
int with_client(const globals& g, F f) {
  int status = exit_ok;
  auto c = connect(g, status);
  if (!c) return status;
  return f(*c);
}

template <typename T>
bool failed(const client::result<T>& r, int& status) {
  if (r) return false;
  status = fail(r.err());
  return true;
}

// --password, else the first line of stdin.
bool password_of(const std::string& given, std::string& out) {
  out = given;
  if (out.empty()) std::getline(std::cin, out);
  return !out.empty();
}

std::string joined(const google::protobuf::RepeatedPtrField<std::string>& items) {
  std::string s;
  for (const auto& i : items)
    s += (s.empty() ? "" : ",") + i;
  return s;
}

// ---- users ----

struct user_args {
  std::string name, password;
  std::vector<std::string> groups;
  v1::Quota quota;
};

int run_user_create(const globals& g, const user_args& a) {
  v1::CreateUser req;
  req.set_name(a.name);
  std::string pw;
  if (!password_of(a.password, pw))
    return usage_error("a password is needed (--password, or stdin)");
  *req.mutable_scram() = client::make_scram_credential(pw);
  for (const auto& grp : a.groups)
    req.add_groups(grp);
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.create_user(req);
    int status = exit_ok;
    if (failed(r, status)) return status;
    std::printf("user %s created\n", r->name().c_str());
    return exit_ok;
  });
}

int run_user_passwd(const globals& g, const user_args& a) {
  v1::SetUserPassword req;
  req.set_name(a.name);
  std::string pw;
  if (!password_of(a.password, pw))
    return usage_error("a password is needed (--password, or stdin)");
  *req.mutable_scram() = client::make_scram_credential(pw);
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.set_user_password(req);
    int status = exit_ok;
    if (failed(r, status)) return status;
    std::printf("password of %s changed\n", r->name().c_str());
    return exit_ok;
  });
}

int run_user_delete(const globals& g, const std::string& name) {
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.delete_user(name);
    int status = exit_ok;
    if (failed(r, status)) return status;
    if (r->deleted())
      std::printf("user %s deleted (%u tokens revoked)\n", name.c_str(), r->tokens_revoked());
    else
      std::printf("no user %s\n", name.c_str());
    return exit_ok;
  });
}

int run_user_quota(const globals& g, const user_args& a) {
  v1::SetUserQuota req;
  req.set_name(a.name);
  *req.mutable_quota() = a.quota;
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.set_user_quota(req);
    int status = exit_ok;
    if (failed(r, status)) return status;
    std::printf("quota of %s set\n", r->name().c_str());
    return exit_ok;
  });
}

// name, groups: one line per user.
int run_user_list(const globals& g) {
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.list_users();
    int status = exit_ok;
    if (failed(r, status)) return status;
    for (const auto& u : r->users())
      std::printf("%s\tgroups=%s\n", u.name().c_str(), joined(u.groups()).c_str());
    return exit_ok;
  });
}

void add_user_commands(CLI::App& app, context& ctx) {
  auto* user = app.add_subcommand("user", "manage users (create|delete|list|passwd|quota)");
  user->require_subcommand(1);
  auto a = std::make_shared<user_args>();

  auto* create = user->add_subcommand("create", "create a user");
  create->add_option("name", a->name, "user name")->required();
  create->add_option("--password", a->password, "its password (default: read from stdin)");
  create->add_option("--group", a->groups, "a group it belongs to (repeatable)");
  create->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_user_create(ctx.g, *a); }; });

  auto* passwd = user->add_subcommand("passwd", "change a user's password");
  passwd->add_option("name", a->name, "user name")->required();
  passwd->add_option("--password", a->password, "the new password (default: read from stdin)");
  passwd->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_user_passwd(ctx.g, *a); }; });

  auto* quota = user->add_subcommand("quota", "set a user's limits (0 = the broker's default)");
  quota->add_option("name", a->name, "user name")->required();
  quota->add_option_function<uint32_t>(
      "--connections", [a](uint32_t n) { a->quota.set_max_connections(n); },
      "connections open at once");
  quota->add_option_function<uint64_t>(
      "--publish-bytes-per-second", [a](uint64_t n) { a->quota.set_publish_bytes_per_second(n); },
      "publish rate in bytes (throttled above it)");
  quota->add_option_function<uint64_t>(
      "--publish-messages-per-second",
      [a](uint64_t n) { a->quota.set_publish_messages_per_second(n); },
      "publish rate in messages (throttled above it)");
  quota->add_option_function<uint32_t>(
      "--max-frame-bytes", [a](uint32_t n) { a->quota.set_max_frame_bytes(n); },
      "largest frame it may send");
  quota->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_user_quota(ctx.g, *a); }; });

  auto* del = user->add_subcommand("delete", "delete a user and its tokens");
  del->add_option("name", a->name, "user name")->required();
  del->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_user_delete(ctx.g, a->name); }; });

  user->add_subcommand("list", "list users")->callback([&ctx] {
    ctx.run = [&ctx] { return run_user_list(ctx.g); };
  });
}

// ---- tokens ----

struct token_args {
  std::string principal, description, id;
  int64_t ttl_ms = 0;
};

// Prints the token alone on stdout (shown once), its id on stderr.
int run_token_create(const globals& g, const token_args& a) {
  v1::CreateToken req;
  req.set_principal(a.principal);
  req.set_ttl_ms(a.ttl_ms);
  req.set_description(a.description);
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.create_token(req);
    int status = exit_ok;
    if (failed(r, status)) return status;
    std::fprintf(stderr, "token %s for %s (shown once; keep it secret)\n", r->info().id().c_str(),
                 r->info().principal().c_str());
    std::printf("%s\n", r->token().c_str());
    return exit_ok;
  });
}

int run_token_revoke(const globals& g, const std::string& id) {
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.revoke_token(id);
    int status = exit_ok;
    if (failed(r, status)) return status;
    std::printf(r->revoked() ? "token %s revoked\n" : "no token %s\n", id.c_str());
    return exit_ok;
  });
}

// id, user, expiry, description: one line per token (never the secret).
int run_token_list(const globals& g, const std::string& principal) {
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.list_tokens(principal);
    int status = exit_ok;
    if (failed(r, status)) return status;
    for (const auto& t : r->tokens())
      std::printf("%s\t%s\texpires_ms=%lld\t%s\n", t.id().c_str(), t.principal().c_str(),
                  static_cast<long long>(t.expires_ms()), t.description().c_str());
    return exit_ok;
  });
}

void add_token_commands(CLI::App& app, context& ctx) {
  auto* token = app.add_subcommand("token", "manage tokens (create|revoke|list)");
  token->require_subcommand(1);
  auto a = std::make_shared<token_args>();

  auto* create = token->add_subcommand("create", "create a token; prints it once");
  create->add_option("--principal", a->principal, "the user it acts as (default: yourself)");
  create->add_option("--ttl-ms", a->ttl_ms, "lifetime (default 0: no expiry)")
      ->check(CLI::NonNegativeNumber);
  create->add_option("--description", a->description, "what it is for");
  create->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_token_create(ctx.g, *a); }; });

  auto* revoke = token->add_subcommand("revoke", "revoke a token by its id");
  revoke->add_option("id", a->id, "token id (ferry token list)")->required();
  revoke->callback([&ctx, a] { ctx.run = [&ctx, a] { return run_token_revoke(ctx.g, a->id); }; });

  auto* list = token->add_subcommand("list", "list tokens (ids, never secrets)");
  list->add_option("--principal", a->principal, "only this user's");
  list->callback(
      [&ctx, a] { ctx.run = [&ctx, a] { return run_token_list(ctx.g, a->principal); }; });
}

// ---- access rules ----

struct acl_args {
  std::string principal, resource, list_principal;
  std::vector<std::string> operations;
  bool deny = false;
};

const std::pair<const char*, v1::Operation> operation_names[] = {
    {"publish", v1::OPERATION_PUBLISH},   {"consume", v1::OPERATION_CONSUME},
    {"create", v1::OPERATION_CREATE},     {"delete", v1::OPERATION_DELETE},
    {"describe", v1::OPERATION_DESCRIBE}, {"alter", v1::OPERATION_ALTER},
    {"admin", v1::OPERATION_ADMIN}};

const std::pair<const char*, v1::ResourceKind> kind_names[] = {
    {"topic", v1::RESOURCE_KIND_TOPIC},
    {"subscription", v1::RESOURCE_KIND_SUBSCRIPTION},
    {"group", v1::RESOURCE_KIND_GROUP},
    {"broker", v1::RESOURCE_KIND_BROKER}};

// "broker", "KIND:PATTERN" or "PATTERN" (a topic pattern).
bool parse_resource(const std::string& s, v1::AclRule& r) {
  if (s == "broker") {
    r.set_resource_kind(v1::RESOURCE_KIND_BROKER);
    return true;
  }
  auto colon = s.find(':');
  r.set_resource_kind(v1::RESOURCE_KIND_TOPIC);
  r.set_pattern(s);
  if (colon == std::string::npos) return !s.empty();
  for (const auto& [name, kind] : kind_names)
    if (s.compare(0, colon, name) == 0 && kind != v1::RESOURCE_KIND_BROKER) {
      r.set_resource_kind(kind);
      r.set_pattern(s.substr(colon + 1));
      return !r.pattern().empty();
    }
  return false;
}

int make_rule(const acl_args& a, v1::AclRule& r) {
  r.set_principal(a.principal);
  r.set_deny(a.deny);
  if (!parse_resource(a.resource, r))
    return usage_error(
        "--resource must be broker, PATTERN, topic:PATTERN, subscription:PATTERN "
        "or group:PATTERN, got '" +
        a.resource + "'");
  for (const auto& op : a.operations) {
    bool known = false;
    for (const auto& [name, value] : operation_names)
      if (op == name) {
        r.add_operations(value);
        known = true;
      }
    if (!known)
      return usage_error(
          "--operation must be publish, consume, create, delete, describe, alter "
          "or admin, got '" +
          op + "'");
  }
  return exit_ok;
}

// "allow alice publish,consume on topic orders.>"
std::string describe(const v1::AclRule& r) {
  std::string ops;
  for (int op : r.operations())
    for (const auto& [name, value] : operation_names)
      if (op == value) ops += (ops.empty() ? "" : ",") + std::string(name);
  std::string kind = "?";
  for (const auto& [name, value] : kind_names)
    if (r.resource_kind() == value) kind = name;
  return std::string(r.deny() ? "deny " : "allow ") + r.principal() + " " + ops + " on " + kind +
         (r.pattern().empty() ? "" : " " + r.pattern());
}

int run_acl_change(const globals& g, const acl_args& a, bool add) {
  v1::AclRule rule;
  if (int st = make_rule(a, rule); st != exit_ok) return st;
  return with_client(g, [&](client::blocking_client& c) -> int {
    int status = exit_ok;
    if (add) {
      auto r = c.add_acl(rule);
      if (failed(r, status)) return status;
      std::printf("%s\n", describe(r->rule()).c_str());
    } else {
      auto r = c.remove_acl(rule);
      if (failed(r, status)) return status;
      std::printf(r->removed() ? "removed\n" : "no such rule\n");
    }
    return exit_ok;
  });
}

int run_acl_list(const globals& g, const std::string& principal) {
  return with_client(g, [&](client::blocking_client& c) -> int {
    auto r = c.list_acls(principal);
    int status = exit_ok;
    if (failed(r, status)) return status;
    for (const auto& rule : r->rules())
      std::printf("%s\n", describe(rule).c_str());
    return exit_ok;
  });
}

void add_acl_commands(CLI::App& app, context& ctx) {
  auto* acl = app.add_subcommand("acl", "manage access rules (add|remove|list)");
  acl->require_subcommand(1);
  auto a = std::make_shared<acl_args>();
  for (bool add : {true, false}) {
    auto* cmd = acl->add_subcommand(add ? "add" : "remove",
                                    add ? "add a rule (operations merge into an existing one)"
                                        : "remove operations of a rule (all when none named)");
    cmd->add_option("--principal", a->principal, "a user, group:NAME, or * (every user)")
        ->required();
    cmd->add_option("--resource", a->resource,
                    "broker, or a pattern: orders.> (a topic), subscription:P, group:P")
        ->required();
    auto* ops = cmd->add_option("--operation", a->operations,
                                "publish, consume, create, delete, describe, alter, admin "
                                "(repeatable)");
    if (add) ops->required();
    cmd->add_flag("--deny", a->deny, "a deny rule (deny wins over allow)");
    cmd->callback(
        [&ctx, a, add] { ctx.run = [&ctx, a, add] { return run_acl_change(ctx.g, *a, add); }; });
  }
  auto* list = acl->add_subcommand("list", "list rules");
  list->add_option("--principal", a->list_principal, "only this principal's");
  list->callback(
      [&ctx, a] { ctx.run = [&ctx, a] { return run_acl_list(ctx.g, a->list_principal); }; });
}

}  // namespace

void add_security_commands(CLI::App& app, context& ctx) {
  add_user_commands(app, ctx);
  add_token_commands(app, ctx);
  add_acl_commands(app, ctx);
  app.add_subcommand("whoami", "who the broker takes you to be")->callback([&ctx] {
    ctx.run = [&ctx] {
      return with_client(ctx.g, [](client::blocking_client& c) -> int {
        auto r = c.who_am_i();
        int status = exit_ok;
        if (failed(r, status)) return status;
        std::printf("%s (%s) groups=%s\n", r->principal().c_str(), r->mechanism().c_str(),
                    joined(r->groups()).c_str());
        return exit_ok;
      });
    };
  });
}

}  // namespace ferry::cli
