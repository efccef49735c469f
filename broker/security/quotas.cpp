#include "broker/security/quotas.h"

#include <algorithm>
#include <cmath>

#include "broker/core/errors.h"

namespace ferry::broker {

namespace {
// The longest a connection is throttled at once: a burst far over the rate is paid back
// over several publishes rather than by a connection that looks dead.
constexpr int64_t max_throttle_ms = 5000;
}  // namespace

quotas::quotas(const quota_settings& defaults, user_quota_fn user_quota)
    : defaults_(defaults),
      user_quota_(std::move(user_quota)),
      usage_(std::make_shared<std::unordered_map<std::string, usage>>()) {}

v1::Quota quotas::effective(const principal& who) const {
  v1::Quota q;
  q.set_max_connections(static_cast<uint32_t>(defaults_.max_connections));
  q.set_publish_bytes_per_second(defaults_.publish_bytes_per_second);
  q.set_publish_messages_per_second(defaults_.publish_messages_per_second);
  q.set_max_frame_bytes(static_cast<uint32_t>(defaults_.max_frame_bytes));
  if (const v1::Quota* own = user_quota_ ? user_quota_(who.name) : nullptr) {
    if (own->max_connections()) q.set_max_connections(own->max_connections());
    if (own->publish_bytes_per_second())
      q.set_publish_bytes_per_second(own->publish_bytes_per_second());
    if (own->publish_messages_per_second())
      q.set_publish_messages_per_second(own->publish_messages_per_second());
    if (own->max_frame_bytes()) q.set_max_frame_bytes(own->max_frame_bytes());
  }
  return q;
}

ferry::error quotas::connect(const principal& who, std::shared_ptr<void>& lease) {
  const uint32_t limit = effective(who).max_connections();
  usage& u = (*usage_)[who.name];
  if (limit != 0 && u.connections >= limit)
    return fail(errc::resource_exhausted, quoted(who.name) + " has " +
                                              std::to_string(u.connections) +
                                              " connections open, its maximum (quota)");
  ++u.connections;
  std::weak_ptr<std::unordered_map<std::string, usage>> all = usage_;
  lease = std::shared_ptr<void>(nullptr, [all, name = who.name](void*) {
    if (auto m = all.lock())
      if (auto it = m->find(name); it != m->end() && it->second.connections > 0)
        --it->second.connections;
  });
  return {};
}

int64_t quotas::bucket::take(uint64_t rate, double n, int64_t now_ms) {
  if (rate == 0) return 0;
  const double cap = static_cast<double>(rate);
  if (at_ms < 0) tokens = cap;
  tokens = std::min(
      cap, tokens + static_cast<double>(now_ms - std::max<int64_t>(at_ms, 0)) * cap / 1000.0);
  at_ms = now_ms;
  tokens -= n;
  if (tokens >= 0) return 0;
  return std::min<int64_t>(max_throttle_ms,
                           static_cast<int64_t>(std::ceil(-tokens * 1000.0 / cap)));
}

// Once per Publish frame: one lookup of the user's own quota, nothing more when no rate
// applies.
int64_t quotas::publish(const principal& who, size_t bytes, size_t messages, int64_t now_ms) {
  const v1::Quota* own = user_quota_ ? user_quota_(who.name) : nullptr;
  uint64_t byte_rate = defaults_.publish_bytes_per_second;
  uint64_t message_rate = defaults_.publish_messages_per_second;
  if (own && own->publish_bytes_per_second()) byte_rate = own->publish_bytes_per_second();
  if (own && own->publish_messages_per_second()) message_rate = own->publish_messages_per_second();
  if (byte_rate == 0 && message_rate == 0) return 0;
  usage& u = (*usage_)[who.name];
  return std::max(u.bytes.take(byte_rate, static_cast<double>(bytes), now_ms),
                  u.messages.take(message_rate, static_cast<double>(messages), now_ms));
}

}  // namespace ferry::broker
