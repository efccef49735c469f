// The queue registry's own events: dead-lettering and timers.
#include <algorithm>

#include "broker/core/log.h"
#include "broker/queues/dead_letter.h"
#include "broker/queues/queue_registry.h"

namespace ferry::broker {
namespace {

constexpr int64_t producer_sweep_interval_ms = 1000;

}  // namespace

void queue_registry::dead_letter(subscription& from, uint64_t /*seq*/, const message_ref& m,
                                 uint32_t delivery_count, std::string_view reason,
                                 std::string_view detail) {
  const auto& dlt_name = from.options().dead_letter_topic;
  memory_topic* dlt = dlt_name.empty() ? nullptr : find(dlt_name);
  // A dead-letter that would itself dead-letter (a full dead-letter queue dropping into
  // itself) stops here, counted, instead of looping.
  if (dlt == nullptr || dlt->subscriptions().empty() || dead_letter_depth_ > 0) {
    from.count_dead_letter(false, m.size());
    ++probe_.dead_letters_dropped;
    log::queues().debug("subscription {}: message dropped ({}), no dead-letter topic to take it",
                        from.name(), reason);
    return;
  }
  const int64_t wall = clock_.wall_ms();
  std::vector<uint8_t> b;
  b.reserve(dlt->name().size() + m.bytes.size() + 256);
  b.insert(b.end(), dlt->name().begin(), dlt->name().end());
  append_dead_letter(b, m.bytes, {reason, detail, m.topic, from.name(), delivery_count, wall});

  auto buf = bytes_ref::copy_of(wire::as_view(b), &memory_);
  std::string_view all = buf.get()->view();
  message_ref dl{buf, all.substr(0, dlt->name().size()), all.substr(dlt->name().size()), wall, 0};
  if (auto ttl = dlt->options().message_ttl_ms(); ttl != 0)
    dl.expires_at = clock_.now() + static_cast<int64_t>(ttl);
  ++dead_letter_depth_;
  bool taken = false;
  for (auto* s : dlt->subscriptions()) {
    if (s->would_reject(dl.size())) continue;  // a full reject-publish dead-letter queue
    s->enqueue(dl);
    taken = true;
  }
  --dead_letter_depth_;
  if (taken) dlt->count_published();
  from.count_dead_letter(taken, m.size());
  ++(taken ? probe_.dead_lettered : probe_.dead_letters_dropped);
}

void queue_registry::tick() {
  const int64_t now = clock_.now();
  for (auto& [name, s] : subscriptions_)
    if (s->next_deadline() <= now) s->on_tick();
  if (now - last_producer_sweep_ >= producer_sweep_interval_ms) {
    last_producer_sweep_ = now;
    for (auto& [name, t] : topics_)
      t->forget_producers_before(now - settings_.dedup_window_ms);
  }
}

}  // namespace ferry::broker
