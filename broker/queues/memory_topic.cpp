// memory_topic: the data path of a Publish onto subscriptions.
#include "broker/queues/memory_topic.h"

#include <algorithm>

#include "broker/core/errors.h"
#include "broker/queues/subscription.h"
#include "broker/topics/publish_checks.h"

namespace ferry::broker {
namespace {

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

void memory_topic::describe(v1::TopicInfo& out) const {
  out.set_name(name_);
  out.set_kind(v1::MEMORY);
  *out.mutable_options() = options_;
  out.set_messages_published(published_);
  out.set_bytes_published(published_bytes_);
  out.set_publish_rate(publish_rate_.sample(ctx_.clock.now(), published_));
  out.set_publish_bytes_rate(publish_bytes_rate_.sample(ctx_.clock.now(), published_bytes_));
  out.clear_subscriptions();
  for (const auto* s : subs_)
    out.add_subscriptions(s->name());
  out.set_producers(producers_.size());
}

memory_topic::producer_state& memory_topic::producer(std::string_view producer_id) {
  auto it = producers_.find(producer_id);
  if (it == producers_.end())
    it = producers_.emplace(std::string(producer_id), producer_state{}).first;
  return it->second;
}

bool memory_topic::admit(uint32_t i, std::string_view bytes, v1::PublishOk& out) {
  auto full = std::find_if(subs_.begin(), subs_.end(),
                           [&](const subscription* s) { return s->would_reject(bytes.size()); });
  if (full == subs_.end()) return true;
  add_error(out, i, errc::queue_full,
            "subscription " + quoted((*full)->name()) + " is full (overflow: reject-publish)");
  return false;
}

void memory_topic::publish(publish_request& r, publish_done done) {
  if (r.head.partition) {
    done(fail(errc::invalid_argument,
              "partition applies to log topics only; " + quoted(name_) + " is a memory topic"),
         {});
    return;
  }
  const bytes_ref buf = adopt_frame(r, &ctx_.memory);
  const int64_t now = ctx_.clock.now(), wall = ctx_.clock.wall_ms();
  producer_state* producer = nullptr;
  if (!r.head.producer_id.empty()) {
    producer = &this->producer(r.head.producer_id);
    producer->last_seen = now;
  }
  v1::PublishOk out;
  uint32_t accepted = 0, duplicates = 0;
  uint64_t accepted_bytes = 0;
  for (uint32_t i = 0; i < r.messages.size(); ++i) {
    // In the order of PROTOCOL.md 5.3: the message's own checks, duplicate, queue full.
    codec::message_meta meta;
    if (!check_message(i, r.messages[i], ctx_.settings.max_message_bytes, wall, meta, out))
      continue;
    const uint64_t sequence = r.head.first_sequence + i;
    if (producer != nullptr && producer->any && sequence <= producer->last_sequence) {
      ++duplicates;
      continue;
    }
    if (!admit(i, r.messages[i], out)) continue;
    message_ref ref{buf, r.head.topic, r.messages[i], wall,
                    expiry(meta, options_.message_ttl_ms(), now, wall)};
    for (auto* s : subs_)
      s->enqueue(ref);
    ++accepted;
    accepted_bytes += ref.size();
    if (producer != nullptr) {
      producer->any = true;
      producer->last_sequence = sequence;
    }
  }
  published_ += accepted;
  published_bytes_ += accepted_bytes;
  ctx_.probe.messages_published += accepted;
  ctx_.probe.bytes_published += accepted_bytes;
  ctx_.probe.duplicates += duplicates;
  ctx_.probe.messages_refused += static_cast<uint64_t>(out.errors_size());
  out.set_accepted(accepted);
  out.set_duplicates(duplicates);
  out.set_subscriptions(static_cast<uint32_t>(subs_.size()));
  done({}, std::move(out));
}

}  // namespace ferry::broker
