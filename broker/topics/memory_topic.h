// memory_topic: a RabbitMQ-like topic. Holds no messages itself: a publish is copied (by
// reference) onto every subscription whose pattern matches the topic's name.
//
// Owns its name and options, the list of matching subscriptions (kept current by the
// registry) and the idempotent-producer state (highest sequence per producer id, kept for
// the dedup window after the producer's last publish). Broker loop only.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "ferry/v1/admin.pb.h"

namespace ferry::broker {

class subscription;

class memory_topic {
 public:
  struct producer_state {
    bool any = false;  // whether last_sequence holds an accepted sequence
    uint64_t last_sequence = 0;
    int64_t last_seen = 0;  // steady ms
  };

  memory_topic(std::string name, v1::TopicOptions options, uint64_t owner_session)
      : name_(std::move(name)), options_(std::move(options)), owner_session_(owner_session) {}

  const std::string& name() const { return name_; }
  const v1::TopicOptions& options() const { return options_; }
  // Temporary topics belong to the session that created them (0 = not temporary).
  uint64_t owner_session() const { return owner_session_; }
  bool temporary() const { return owner_session_ != 0; }

  // Subscriptions receiving this topic's messages.
  std::vector<subscription*>& subscriptions() { return subs_; }
  const std::vector<subscription*>& subscriptions() const { return subs_; }

  // The state of `producer_id`, created on first use.
  producer_state& producer(std::string_view producer_id) {
    auto it = producers_.find(producer_id);
    if (it == producers_.end())
      it = producers_.emplace(std::string(producer_id), producer_state{}).first;
    return it->second;
  }
  // Forgets producers idle since before `cutoff` (steady ms).
  void forget_producers_before(int64_t cutoff) {
    boost::unordered::erase_if(producers_,
                               [&](const auto& p) { return p.second.last_seen < cutoff; });
  }
  size_t producer_count() const { return producers_.size(); }

  uint64_t published = 0;

 private:
  struct string_hash {
    using is_transparent = void;
    size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
  };
  std::string name_;
  v1::TopicOptions options_;
  uint64_t owner_session_;
  std::vector<subscription*> subs_;
  boost::unordered_flat_map<std::string, producer_state, string_hash, std::equal_to<>> producers_;
};

}  // namespace ferry::broker
