// authenticator and authorizer: the two doors of security. The binary protocol's handshake
// (and the HTTP side, for a bearer token) asks the authenticator who a client is; every
// request then passes the authorizer with that principal, the resource it names and the
// operation. Without authentication (auth.enabled: false) they are anonymous_access and
// allow_all; with it, security/credentials (SCRAM, tokens) and security/acl_authorizer.
#pragma once

#include <array>
#include <memory>
#include <string>
#include <string_view>

#include "ferry/v1/session.pb.h"

#include "broker/core/assert.h"
#include "broker/security/principal.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

// `consumer`: a consumer this session opened (Ack, Credit, ...), authorized when it was
// opened. `user`: a user's own record (a password change, a token for oneself).
enum class resource_kind { broker, topic, subscription, group, user, consumer };
// `connect`: nothing to authorize beyond having finished the handshake (Ping, WhoAmI).
enum class operation { connect, publish, consume, create, remove, describe, alter, admin };

std::string_view to_string(resource_kind k);
std::string_view to_string(operation op);

// One step of an authentication: either done (who, and a last message for the client) or
// a challenge and the exchange that takes the client's answer.
class auth_exchange;
struct auth_step {
  bool done = false;
  principal who;
  std::string reply;  // SCRAM: server-first (a challenge) or server-final (done)
  std::unique_ptr<auth_exchange> next;
};

// A handshake of several steps (SCRAM), kept by the session between the frames.
class auth_exchange {
 public:
  virtual ~auth_exchange() = default;
  virtual ferry::error step(std::string_view client_message, auth_step& out) = 0;
};

class authenticator {
 public:
  virtual ~authenticator() = default;
  // The first step, from Hello's credentials and the connection's verified TLS client
  // certificate (its common name, or ""); UNAUTHENTICATED when they do not do.
  virtual ferry::error begin(const v1::Credentials& creds, std::string_view tls_identity,
                             auth_step& out) = 0;
  // A bearer token alone (HTTP's Authorization header).
  virtual ferry::error bearer(std::string_view token, principal& out) = 0;
  // A verified TLS client certificate alone (HTTP without a token).
  virtual ferry::error certificate(std::string_view tls_identity, principal& out) = 0;
  // Whether requests must carry credentials (false: everyone is "anonymous").
  virtual bool required() const = 0;
};

// No authentication: every client is "anonymous" (credentials are ignored, PROTOCOL.md 4).
class anonymous_access final : public authenticator {
 public:
  ferry::error begin(const v1::Credentials&, std::string_view, auth_step& out) override {
    out.done = true;
    out.who = principal{};
    return {};
  }
  ferry::error bearer(std::string_view, principal& out) override {
    out = principal{};
    return {};
  }
  ferry::error certificate(std::string_view, principal& out) override {
    out = principal{};
    return {};
  }
  bool required() const override { return false; }
};

// What one request (binary or HTTP) is authorized for: its resource and operation, and
// what else it names (a subscription's topics and dead-letter topic, a reader's group).
// Names are views into the request, or into `keep` (e.g. a body parsed to find them).
struct access_targets {
  struct target {
    resource_kind kind;
    std::string_view name;
    operation op;
  };
  std::array<target, 4> items;
  size_t count = 0;
  std::shared_ptr<const void> keep;

  void add(resource_kind k, std::string_view name, operation op) {
    FERRY_ASSERT(count < items.size(), "a request names at most 4 resources");
    items[count++] = {k, name, op};
  }
};

class authorizer {
 public:
  virtual ~authorizer() = default;
  // UNAUTHORIZED, naming the operation and the resource, when `who` may not do `op` on it.
  virtual ferry::error authorize(const principal& who, resource_kind kind, std::string_view name,
                                 operation op) = 0;
};

// The first refusal among `t`'s targets, or none.
inline ferry::error authorize_all(authorizer& authz, const principal& who,
                                  const access_targets& t) {
  for (size_t i = 0; i < t.count; ++i)
    if (auto err = authz.authorize(who, t.items[i].kind, t.items[i].name, t.items[i].op))
      return err;
  return {};
}

class allow_all final : public authorizer {
 public:
  ferry::error authorize(const principal&, resource_kind, std::string_view, operation) override {
    return {};
  }
};

}  // namespace ferry::broker
