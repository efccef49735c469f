// authorizer: the pipeline's one place to decide whether a client may do what a request
// asks. Every request passes it with the resource it names (a topic, a subscription, a
// group, the broker) and the operation; allow_all is today's, the security work fills in
// real principals and rules behind the same call.
#pragma once

#include <string_view>

#include "proto/codec/errc.h"

namespace ferry::broker {

enum class resource_kind { broker, topic, subscription, group };
enum class operation { connect, describe, create, remove, publish, consume, commit };

// Who sends the requests of a session (set by the handshake).
struct principal {
  std::string_view name = "anonymous";
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
