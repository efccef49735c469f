// quotas: the limits of each principal (quotas.* defaults, a user's own Quota over them):
// connections open at once, publish rates in bytes and messages per second over all of
// its connections, and the largest frame it may send. Rates are throttled as Kafka's
// quotas are, never dropped: a publish over the rate is served, and its connection then
// reads nothing for as long as the principal's bucket is in debt, so the producer is
// slowed by TCP's own back-pressure. Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>

#include "ferry/v1/security.pb.h"

#include "broker/security/principal.h"
#include "broker/security/security_settings.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

class quotas {
 public:
  // `user_quota` gives a user's own Quota (null when it has none or is not a user).
  using user_quota_fn = std::function<const v1::Quota*(std::string_view user)>;
  quotas(const quota_settings& defaults, user_quota_fn user_quota);

  // The limits in force for `who`: its own where set, else the defaults.
  v1::Quota effective(const principal& who) const;

  // A connection authenticated as `who`: a lease to hold while it is open, or
  // RESOURCE_EXHAUSTED when the principal has its maximum open already.
  ferry::error connect(const principal& who, std::shared_ptr<void>& lease);

  // A Publish of `messages` messages in `bytes` by `who` at `now_ms`: how long its
  // connection should read nothing (0: not at all).
  int64_t publish(const principal& who, size_t bytes, size_t messages, int64_t now_ms);

 private:
  struct bucket {
    double tokens = 0;  // may go negative: the debt a throttle pays back
    int64_t at_ms = -1;
    // Refills at `rate` per second up to one second's worth; takes `n`; the ms until the
    // debt is paid (0 when there is none).
    int64_t take(uint64_t rate, double n, int64_t now_ms);
  };
  struct usage {
    uint64_t connections = 0;
    bucket bytes, messages;
  };

  quota_settings defaults_;
  user_quota_fn user_quota_;
  // Shared with the leases, which may be released after this object is gone.
  std::shared_ptr<std::unordered_map<std::string, usage>> usage_;
};

}  // namespace ferry::broker
