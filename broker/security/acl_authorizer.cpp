#include "broker/security/acl_authorizer.h"

#include "broker/core/errors.h"
#include "broker/core/log.h"

namespace ferry::broker {

std::string_view to_string(resource_kind k) {
  switch (k) {
    case resource_kind::broker: return "broker";
    case resource_kind::topic: return "topic";
    case resource_kind::subscription: return "subscription";
    case resource_kind::group: return "group";
    case resource_kind::user: return "user";
    case resource_kind::consumer: return "consumer";
  }
  return "?";
}

std::string_view to_string(operation op) {
  switch (op) {
    case operation::connect: return "connect";
    case operation::publish: return "publish";
    case operation::consume: return "consume";
    case operation::create: return "create";
    case operation::remove: return "delete";
    case operation::describe: return "describe";
    case operation::alter: return "alter";
    case operation::admin: return "admin";
  }
  return "?";
}

void acl_authorizer::set_rules(std::vector<v1::AclRule> all) {
  rules_.set(std::move(all));
  decided_.clear();
}

ferry::error acl_authorizer::authorize(const principal& who, resource_kind kind,
                                       std::string_view name, operation op) {
  key_.clear();
  key_ += static_cast<char>(kind);
  key_ += static_cast<char>(op);
  key_ += who.name;
  key_.append(1, '\2').append(who.mechanism);  // self-service depends on how one logged in
  for (const auto& g : who.groups)
    key_.append(1, '\0').append(g);
  key_.append(1, '\1').append(name);
  auto it = decided_.find(key_);
  bool ok;
  if (it != decided_.end()) {
    ok = it->second;
  } else {
    ok = rules_.allows(who, kind, name, op);
    if (decided_.size() >= max_cached) decided_.clear();
    decided_.emplace(key_, ok);
  }
  if (ok) return {};
  std::string what = std::string(to_string(op)) + " on " + std::string(to_string(kind));
  if (!name.empty()) what += " " + quoted(name);
  log::security().warn("denied: {} ({}) may not {}", quoted(who.name), who.mechanism, what);
  return fail(errc::unauthorized, quoted(who.name) + " may not " + what);
}

}  // namespace ferry::broker
