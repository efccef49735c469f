#include "broker/security/credentials.h"

#include "broker/core/errors.h"
#include "proto/codec/names.h"
#include "proto/codec/scram.h"

namespace ferry::broker {
namespace {

constexpr std::string_view token_mechanism = "TOKEN";
constexpr std::string_view tls_mechanism = "TLS";
constexpr std::string_view token_prefix = "ferry_";

std::string hex(std::string_view raw) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(raw.size() * 2);
  for (unsigned char c : raw) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

ferry::error refused(std::string why) {
  return fail(errc::unauthenticated, std::move(why));
}

// The SCRAM exchange of one handshake, between its two client messages.
class scram_exchange final : public auth_exchange {
 public:
  explicit scram_exchange(const credentials& creds) : creds_(creds) {}

  ferry::error first(std::string_view client_first, auth_step& out) {
    auto find = [this](std::string_view name, scram::keys& k) {
      const v1::UserRecord* u = creds_.user(name);
      if (u == nullptr) return false;
      const auto& s = u->scram();
      k = {s.salt(), s.iterations(), s.stored_key(), s.server_key()};
      return true;
    };
    if (auto why = server_.first(client_first, find, out.reply); !why.empty())
      return refused("SCRAM-SHA-256: " + why);
    return {};
  }

  ferry::error step(std::string_view client_final, auth_step& out) override {
    if (auto why = server_.final(client_final, out.reply); !why.empty())
      return refused("SCRAM-SHA-256 for user " + quoted(server_.user()) + ": " + why);
    const v1::UserRecord* u = creds_.user(server_.user());
    if (u == nullptr) return refused("user " + quoted(server_.user()) + " was deleted");
    out.done = true;
    out.who = creds_.principal_of(*u, scram::mechanism);
    return {};
  }

 private:
  const credentials& creds_;
  scram::server server_;
};

}  // namespace

credentials::credentials(const loop_clock& clock, bool required)
    : clock_(clock), required_(required) {}

void credentials::load(std::vector<v1::UserRecord> users, std::vector<v1::TokenRecord> tokens) {
  users_.clear();
  tokens_.clear();
  for (auto& u : users)
    put_user(std::move(u));
  for (auto& t : tokens)
    put_token(std::move(t));
}

const v1::UserRecord* credentials::user(std::string_view name) const {
  auto it = users_.find(name);
  return it == users_.end() ? nullptr : &it->second;
}

const v1::TokenRecord* credentials::token(std::string_view id) const {
  auto it = tokens_.find(id);
  return it == tokens_.end() ? nullptr : &it->second;
}

void credentials::put_user(v1::UserRecord u) {
  std::string name = u.info().name();
  users_.insert_or_assign(std::move(name), std::move(u));
}

void credentials::erase_user(std::string_view name) {
  if (auto it = users_.find(name); it != users_.end()) users_.erase(it);
}

void credentials::put_token(v1::TokenRecord t) {
  std::string id = t.info().id();
  tokens_.insert_or_assign(std::move(id), std::move(t));
}

void credentials::erase_token(std::string_view id) {
  if (auto it = tokens_.find(id); it != tokens_.end()) tokens_.erase(it);
}

std::string credentials::make_token(v1::TokenRecord& rec) {
  std::string id = hex(scram::random_bytes(8));
  std::string secret = hex(scram::random_bytes(32));
  rec.mutable_info()->set_id(id);
  rec.set_secret_hash(scram::sha256(secret));
  return std::string(token_prefix) + id + "_" + secret;
}

principal credentials::principal_of(const v1::UserRecord& u, std::string_view mechanism) const {
  principal p;
  p.name = u.info().name();
  p.groups.assign(u.info().groups().begin(), u.info().groups().end());
  p.mechanism = std::string(mechanism);
  return p;
}

ferry::error credentials::certificate(std::string_view tls_identity, principal& out) {
  if (!required_) {
    out = principal{};
    return {};
  }
  if (tls_identity.empty()) return refused("no verified client certificate");
  // A name that rules could not name (or that could pass for "group:..." or "*") is not one.
  if (auto why = names::check_name(tls_identity); !why.empty())
    return refused("the client certificate's common name is not a valid user name: " + why);
  if (const v1::UserRecord* u = user(tls_identity)) {
    out = principal_of(*u, tls_mechanism);
  } else {
    out = principal{};
    out.name = std::string(tls_identity);
    out.mechanism = std::string(tls_mechanism);
  }
  return {};
}

ferry::error credentials::begin(const v1::Credentials& creds, std::string_view tls_identity,
                                auth_step& out) {
  if (!required_) {
    out.done = true;
    out.who = principal{};
    return {};
  }
  std::string_view mech = creds.mechanism();
  if (mech.empty() && !creds.token().empty()) mech = token_mechanism;
  if (mech == scram::mechanism) {
    auto ex = std::make_unique<scram_exchange>(*this);
    if (auto err = ex->first(creds.sasl(), out)) return err;
    out.next = std::move(ex);
    return {};
  }
  if (mech == token_mechanism) {
    if (auto err = bearer(creds.token(), out.who)) return err;
    out.done = true;
    return {};
  }
  if ((mech.empty() || mech == tls_mechanism) && !tls_identity.empty() &&
      creds.password().empty()) {
    if (auto err = certificate(tls_identity, out.who)) return err;
    out.done = true;
    return {};
  }
  if (!mech.empty())
    return refused("mechanism " + quoted(mech) +
                   " is not supported: use SCRAM-SHA-256, TOKEN, or a TLS client certificate");
  if (!creds.password().empty())
    return refused("a password is never accepted in Hello: use SCRAM-SHA-256");
  return refused("this broker requires authentication: SCRAM-SHA-256 or TOKEN");
}

ferry::error credentials::bearer(std::string_view text, principal& out) {
  if (!required_) {
    out = principal{};
    return {};
  }
  size_t sep = text.find('_', token_prefix.size());
  if (!text.starts_with(token_prefix) || sep == text.npos) return refused("malformed token");
  std::string_view id = text.substr(token_prefix.size(), sep - token_prefix.size());
  const v1::TokenRecord* t = token(id);
  if (t == nullptr || !scram::equal(scram::sha256(text.substr(sep + 1)), t->secret_hash()))
    return refused("unknown or revoked token");
  if (t->info().expires_ms() != 0 && clock_.wall_ms() >= t->info().expires_ms())
    return refused("token " + std::string(id) + " has expired");
  const v1::UserRecord* u = user(t->info().principal());
  if (u == nullptr) return refused("the user of token " + std::string(id) + " was deleted");
  out = principal_of(*u, token_mechanism);
  return {};
}

}  // namespace ferry::broker
