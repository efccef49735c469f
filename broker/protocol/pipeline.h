// pipeline: the one path every request of the binary protocol takes.
//
// A table has one row per request kind: its name, the resource and operation it needs
// (a request that names a pattern or a second resource, e.g. a subscription's topics,
// checks those too), and how to parse and handle it. For each frame the pipeline stamps the loop
// clock (one read per request), checks the handshake, counts the request, parses its body (a body
// that does not parse closes the connection with MALFORMED_FRAME), asks the authorizer,
// and calls the handler with a responder. A new request kind is one row: it cannot skip
// a step. Loop only.
#pragma once

#include <array>
#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "broker/core/clock.h"
#include "broker/protocol/request_context.h"
#include "broker/security/authorizer.h"
#include "broker/session/request_handler.h"

namespace ferry::broker {

class pipeline final : public request_handler {
 public:
  // One row of the table (pipeline.cpp).
  struct route {
    codec::body kind;
    std::string_view name;
    resource_kind resource;
    operation op;
    bool answered;  // false: no response, errors carry correlation id 0 (Credit, RevokeDone)
    void (*invoke)(pipeline& p, request_context& ctx, const route& rt, std::string_view body,
                   responder r);
  };
  using targets = access_targets;

  pipeline(loop_clock& clock, broker_services& services, security_service& security, quotas& limits,
           broker_info info, authenticator& authn, authorizer& authz);

  // Every row, in table order (the security test walks it).
  static std::span<const route> table();

  // request_handler
  void on_request(session& s, const codec::frame_view& frame) override;
  void on_deferred_publish(session& s, uint64_t correlation_id, std::string_view body) override;

  // Requests seen per kind, since start (what the protocol's metrics will read).
  uint64_t requests(codec::body kind) const;
  // Every request kind of the table with its name and count, in body-number order.
  template <typename F>
  void each_kind(F&& f) const {
    for (const route* rt : routes_)
      if (rt) f(rt->name, counts_[static_cast<size_t>(rt->kind)]);
  }

  // For the rows: authorization of one request's targets.
  ferry::error authorize(const request_context& ctx, const targets& t);
  loop_clock& clock() { return clock_; }
  // For the Publish row: its parse scratch (reused: no allocation per frame).
  std::vector<std::string_view>& publish_scratch() { return publish_scratch_; }

 private:
  static constexpr size_t max_body = 1000;  // body numbers are 2..999 (PROTOCOL.md 3)

  loop_clock& clock_;
  broker_services& services_;
  security_service& security_;
  quotas& quotas_;
  broker_info info_;
  authenticator& authn_;
  authorizer& authz_;
  std::array<const route*, max_body> routes_{};
  std::array<uint64_t, max_body> counts_{};
  std::vector<std::string_view> publish_scratch_;
};

}  // namespace ferry::broker
