// memory_topic: a RabbitMQ-like topic. Holds no messages itself: a publish is copied (by
// reference) onto every subscription whose pattern matches the topic's name.
//
// Owns its name and options, the list of matching subscriptions (kept current by the
// queue registry) and the idempotent-producer state (highest sequence per producer id,
// kept for the dedup window after the producer's last publish). Broker loop only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "broker/core/clock.h"
#include "broker/core/rate_meter.h"
#include "broker/queues/queue_probe.h"
#include "broker/queues/queue_settings.h"
#include "broker/topics/message.h"
#include "broker/topics/topic.h"

namespace ferry::broker {

class subscription;

// What every memory topic shares: the settings, the loop's clock, and the accountant of
// message memory that their buffers count against.
struct queue_context {
  const queue_settings& settings;
  const loop_clock& clock;
  memory_accountant& memory;
  queue_probe& probe;
};

class memory_topic final : public topic {
 public:
  struct producer_state {
    bool any = false;  // whether last_sequence holds an accepted sequence
    uint64_t last_sequence = 0;
    int64_t last_seen = 0;  // steady ms
  };

  memory_topic(std::string name, v1::TopicOptions options, uint64_t owner_session,
               const queue_context& ctx)
      : name_(std::move(name)),
        options_(std::move(options)),
        owner_session_(owner_session),
        ctx_(ctx),
        publish_rate_(ctx.clock.now()),
        publish_bytes_rate_(ctx.clock.now()) {}

  // topic
  const std::string& name() const override { return name_; }
  v1::TopicKind kind() const override { return v1::MEMORY; }
  const v1::TopicOptions& options() const override { return options_; }
  void describe(v1::TopicInfo& out) const override;
  // Enqueues the accepted messages on every subscription and answers at once.
  void publish(publish_request& r, publish_done done) override;

  // Temporary topics belong to the session that created them (0 = not temporary).
  uint64_t owner_session() const { return owner_session_; }
  bool temporary() const { return owner_session_ != 0; }

  // Subscriptions receiving this topic's messages.
  std::vector<subscription*>& subscriptions() { return subs_; }
  const std::vector<subscription*>& subscriptions() const { return subs_; }

  // Forgets producers idle since before `cutoff` (steady ms).
  void forget_producers_before(int64_t cutoff) {
    boost::unordered::erase_if(producers_,
                               [&](const auto& p) { return p.second.last_seen < cutoff; });
  }
  // A message that is published here from within the broker (a dead letter).
  void count_published() { ++published_; }

 private:
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  // The state of `producer_id`, created on first use.
  producer_state& producer(std::string_view producer_id);
  // Whether every subscription takes message `i` (reject-publish limits); if not, the
  // refusal is in `out`.
  bool admit(uint32_t i, std::string_view bytes, v1::PublishOk& out);

  std::string name_;
  v1::TopicOptions options_;
  uint64_t owner_session_;
  const queue_context& ctx_;
  uint64_t published_ = 0;
  uint64_t published_bytes_ = 0;
  mutable rate_meter publish_rate_, publish_bytes_rate_;  // sampled by describe
  std::vector<subscription*> subs_;
  boost::unordered_flat_map<std::string, producer_state, string_hash, std::equal_to<>> producers_;
};

}  // namespace ferry::broker
