// credentials: the users and tokens the broker knows, and the authenticator over them.
//
// A user is stored as its SCRAM-SHA-256 keys (never a password); a token as the SHA-256 of
// its secret part ("ferry_ID_SECRET": the ID names it, the SECRET is shown once). Both come
// from the catalog at start and change through security_service, which stores each change
// before it answers. Handshakes: SCRAM-SHA-256 (two steps), TOKEN (one), and a verified
// TLS client certificate (none: its common name is the principal, with the groups of the
// user of that name if there is one). Loop only.
#pragma once

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/v1/security.pb.h"

#include "broker/core/clock.h"
#include "broker/security/authorizer.h"

namespace ferry::broker {

class credentials final : public authenticator {
 public:
  credentials(const loop_clock& clock, bool required);

  void load(std::vector<v1::UserRecord> users, std::vector<v1::TokenRecord> tokens);
  const v1::UserRecord* user(std::string_view name) const;
  const v1::TokenRecord* token(std::string_view id) const;
  // A user's own quota, or null (no such user, or none set).
  const v1::Quota* quota(std::string_view user) const {
    const v1::UserRecord* u = this->user(user);
    return u && u->info().has_quota() ? &u->info().quota() : nullptr;
  }
  const std::map<std::string, v1::UserRecord, std::less<>>& users() const { return users_; }
  const std::map<std::string, v1::TokenRecord, std::less<>>& tokens() const { return tokens_; }
  void put_user(v1::UserRecord u);
  void erase_user(std::string_view name);
  void put_token(v1::TokenRecord t);
  void erase_token(std::string_view id);

  // A new token: fills `rec`'s id and hash; returns the token's text (shown once).
  static std::string make_token(v1::TokenRecord& rec);

  // authenticator
  ferry::error begin(const v1::Credentials& creds, std::string_view tls_identity,
                     auth_step& out) override;
  ferry::error bearer(std::string_view token, principal& out) override;
  ferry::error certificate(std::string_view tls_identity, principal& out) override;
  bool required() const override { return required_; }

  // The principal of a known user.
  principal principal_of(const v1::UserRecord& u, std::string_view mechanism) const;

 private:
  const loop_clock& clock_;
  bool required_;
  std::map<std::string, v1::UserRecord, std::less<>> users_;
  std::map<std::string, v1::TokenRecord, std::less<>> tokens_;
};

}  // namespace ferry::broker
