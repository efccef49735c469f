// The registry's data path: publishing onto subscriptions, dead-lettering, timers.
#include <algorithm>

#include "broker/core/log.h"
#include "broker/topics/publish_errors.h"
#include "broker/topics/registry.h"

namespace ferry::broker {
namespace {

constexpr int64_t max_ttl_ms = 100LL * 365 * 24 * 3600 * 1000;
constexpr int64_t producer_sweep_interval_ms = 1000;
constexpr size_t max_detail_bytes = 1024;

// Steady-clock expiry of a message, the earliest of the topic TTL, the message TTL and
// the absolute CloudEvents expirytime; 0 = never.
int64_t expiry(const codec::message_meta& meta, uint64_t topic_ttl_ms, int64_t now, int64_t wall) {
  int64_t at = 0;
  auto take = [&](int64_t t) {
    t = std::max<int64_t>(t, 1);
    if (at == 0 || t < at) at = t;
  };
  if (topic_ttl_ms != 0) take(now + static_cast<int64_t>(topic_ttl_ms));
  if (meta.ttl_ms != 0)
    take(now + static_cast<int64_t>(std::min<uint64_t>(meta.ttl_ms, max_ttl_ms)));
  if (meta.expiry_time_ms > 0) take(now + std::min(meta.expiry_time_ms - wall, max_ttl_ms));
  return at;
}

}  // namespace

void registry::publish(memory_topic& t, const codec::publish_view& pv,
                       std::span<const std::string_view> messages, const bytes_ref& buf,
                       v1::PublishOk& out) {
  const int64_t wall = clock_.wall_ms();
  memory_topic::producer_state* producer = nullptr;
  if (!pv.producer_id.empty()) {
    producer = &t.producer(pv.producer_id);
    producer->last_seen = now_;
  }
  auto& subs = t.subscriptions();
  uint32_t accepted = 0, duplicates = 0;
  for (uint32_t i = 0; i < messages.size(); ++i) {
    std::string_view bytes = messages[i];
    if (bytes.size() > cfg_.max_message_bytes) {
      add_error(out, i, errc::message_too_large,
                "message of " + std::to_string(bytes.size()) +
                    " bytes is above max_message_bytes " + std::to_string(cfg_.max_message_bytes));
      continue;
    }
    codec::message_meta meta;
    if (codec::scan_message(bytes, meta) != errc::ok) {
      add_error(out, i, errc::malformed_frame,
                "message is not a valid ferry.v1.Message (bad field or non-UTF-8 string)");
      continue;
    }
    if (meta.not_before_ms != 0) {
      add_error(out, i, errc::not_supported,
                "delayed delivery (not_before_ms) is not available in this version of ferryd");
      continue;
    }
    uint64_t sequence = pv.first_sequence + i;
    if (producer != nullptr && producer->any && sequence <= producer->last_sequence) {
      ++duplicates;
      continue;
    }
    auto full = std::find_if(subs.begin(), subs.end(),
                             [&](const subscription* s) { return s->would_reject(bytes.size()); });
    if (full != subs.end()) {
      add_error(out, i, errc::queue_full,
                "subscription '" + (*full)->name() + "' is full (overflow: reject-publish)");
      continue;
    }
    message_ref ref{buf, pv.topic, bytes, wall,
                    expiry(meta, t.options().message_ttl_ms(), now_, wall)};
    for (auto* s : subs)
      s->enqueue(ref);
    ++accepted;
    if (producer != nullptr) {
      producer->any = true;
      producer->last_sequence = sequence;
    }
  }
  t.published += accepted;
  out.set_accepted(accepted);
  out.set_duplicates(duplicates);
  out.set_subscriptions(static_cast<uint32_t>(subs.size()));
}

void registry::dead_letter(subscription& from, const message_ref& m, uint32_t delivery_count,
                           std::string_view reason, std::string_view detail) {
  const auto& dlt_name = from.options().dead_letter_topic;
  memory_topic* dlt = dlt_name.empty() ? nullptr : find_topic(dlt_name);
  // A dead-letter that would itself dead-letter (a full dead-letter queue dropping into
  // itself) stops here, counted, instead of looping.
  if (dlt == nullptr || dlt->subscriptions().empty() || dead_letter_depth_ > 0) {
    from.count_dead_letter(false);
    log::topics().debug("subscription {}: message dropped ({}), no dead-letter topic to take it",
                        from.name(), reason);
    return;
  }
  // The message's bytes plus headers saying why, and TTLs cleared: protobuf merges
  // appended fields, so the result is the original Message with more headers.
  std::vector<uint8_t> b;
  b.reserve(dlt->name().size() + m.bytes.size() + 256);
  b.insert(b.end(), dlt->name().begin(), dlt->name().end());
  b.insert(b.end(), m.bytes.begin(), m.bytes.end());
  codec::append_header_field(b, "ferry-dead-letter-reason", reason);
  if (!detail.empty())  // a client's text: bounded, so a message cannot grow without end
    codec::append_header_field(b, "ferry-dead-letter-detail", detail.substr(0, max_detail_bytes));
  codec::append_header_field(b, "ferry-original-topic", m.topic);
  codec::append_header_field(b, "ferry-subscription", from.name());
  codec::append_header_field(b, "ferry-delivery-count", std::to_string(delivery_count));
  codec::append_header_field(b, "ferry-dead-lettered-at", std::to_string(clock_.wall_ms()));
  wire::writer w(b);
  w.tag(4, wire::wire_type::varint);  // ttl_ms = 0
  w.varint(0);
  w.tag(14, wire::wire_type::varint);  // expiry_time_ms = 0
  w.varint(0);

  auto buf = bytes_ref::copy_of(wire::as_view(b), &memory_);
  std::string_view all = buf.get()->view();
  message_ref dl{buf, all.substr(0, dlt->name().size()), all.substr(dlt->name().size()),
                 clock_.wall_ms(), 0};
  if (auto ttl = dlt->options().message_ttl_ms(); ttl != 0)
    dl.expires_at = now_ + static_cast<int64_t>(ttl);
  ++dead_letter_depth_;
  bool taken = false;
  for (auto* s : dlt->subscriptions()) {
    if (s->would_reject(dl.size())) continue;  // a full reject-publish dead-letter queue
    s->enqueue(dl);
    taken = true;
  }
  --dead_letter_depth_;
  if (taken) ++dlt->published;
  from.count_dead_letter(taken);
}

void registry::tick() {
  begin_event();
  for (auto& [name, s] : subscriptions_)
    if (s->next_deadline() <= now_) s->on_tick();
  for (auto& [name, t] : log_topics_)
    t->on_tick(now_);
  // Session timeouts may remove members (and empty groups): iterate over names.
  std::vector<std::string> groups;
  for (const auto& [name, g] : groups_)
    groups.push_back(name);
  for (const auto& name : groups) {
    consumer_group* g = find_group(name);
    log_topic* t = g != nullptr ? find_log_topic(g->topic()) : nullptr;
    if (t == nullptr) continue;
    for (consumer* c : g->on_tick(*t, now_)) {
      log::topics().warn("group {}: a member's session timed out", name);
      leave_group(*g, *c);  // may erase the group
      t->detach(*c);
      c->sink().consumer_cancelled(*c, errc::unknown_member,
                                   "session timed out: removed from group " + name);
      g = find_group(name);
      if (g == nullptr) break;
    }
  }
  if (now_ - last_producer_sweep_ >= producer_sweep_interval_ms) {
    last_producer_sweep_ = now_;
    for (auto& [name, t] : topics_)
      t->forget_producers_before(now_ - cfg_.dedup_window_ms);
  }
}

}  // namespace ferry::broker
