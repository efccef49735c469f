// authenticator and authorizer: the pipeline's two places for security. The handshake asks
// the authenticator who a client is (from Hello's credentials); every request then passes
// the authorizer with that principal, the resource it names (a topic, a subscription, a
// group, the broker) and the operation. anonymous_access and allow_all are today's; the
// security work fills in real principals and rules behind the same calls.
#pragma once

#include <string>
#include <string_view>

#include "ferry/v1/session.pb.h"

#include "broker/session/principal.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

enum class resource_kind { broker, topic, subscription, group };
enum class operation { connect, describe, create, remove, alter, publish, consume, commit };

class authenticator {
 public:
  virtual ~authenticator() = default;
  // The principal of `creds`, or UNAUTHENTICATED.
  virtual ferry::error authenticate(const v1::Credentials& creds, principal& out) = 0;
};

// No authentication: every client is "anonymous" (credentials are ignored, PROTOCOL.md 4).
class anonymous_access final : public authenticator {
 public:
  ferry::error authenticate(const v1::Credentials&, principal& out) override {
    out = principal{};
    return {};
  }
};

class authorizer {
 public:
  virtual ~authorizer() = default;
  // UNAUTHORIZED (or another error) when `who` may not do `op` on the resource.
  virtual ferry::error authorize(const principal& who, resource_kind kind, std::string_view name,
                                 operation op) = 0;
};

class allow_all final : public authorizer {
 public:
  ferry::error authorize(const principal&, resource_kind, std::string_view, operation) override {
    return {};
  }
};

}  // namespace ferry::broker
