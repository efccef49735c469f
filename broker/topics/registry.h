// registry: every topic and subscription of the broker, and the routing between them.
//
// Owns the memory topics, the subscriptions (durable, ephemeral) and the memory
// accountant of message buffers. Keeps each topic's list of matching subscriptions
// current as topics and subscriptions come and go (wildcard subscriptions match topics
// created later). Definition changes return the records to persist (storage::meta_change);
// the caller writes them on the storage thread and answers the client after.
//
// Lifecycle: construct, load() the persisted definitions, then serve; tick() runs the
// timers. Broker loop only; call begin_event() at the start of each event so the
// cached clock is fresh.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <vector>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/publish.pb.h"

#include "broker/core/clock.h"
#include "broker/core/errors.h"
#include "broker/topics/consumer_group.h"
#include "broker/topics/log_topic.h"
#include "broker/topics/memory_topic.h"
#include "broker/topics/message.h"
#include "broker/topics/subscription.h"
#include "proto/codec/frame_codec.h"
#include "storage/meta_store.h"

namespace ferry::broker {

struct registry_config {
  uint32_t default_prefetch = 1000;
  uint32_t max_prefetch = 1'000'000;
  int64_t default_ack_timeout_ms = 30'000;
  uint32_t default_max_deliveries = 0;
  int64_t dedup_window_ms = 120'000;
  size_t max_message_bytes = 1 << 20;
  int64_t memory_high_watermark_bytes = 1LL << 30;
  int64_t memory_low_watermark_bytes = 0;  // 0 = 80% of the high-water mark
  uint32_t max_partitions = 1024;
  log_config log;
};

using meta_changes = std::vector<storage::meta_change>;

class registry final : public subscription_env {
 public:
  // Without a log_port, creating a log topic is refused (memory-only unit tests).
  registry(const clock& clk, registry_config cfg, log_port* port = nullptr);
  ~registry();

  const registry_config& config() const { return cfg_; }
  memory_accountant& memory() { return memory_; }
  void begin_event() { now_ = clock_.steady_ms(); }
  int64_t wall_ms() const { return clock_.wall_ms(); }

  // ---- recovery ----
  // `log` may be null when no log topics are stored (unit tests).
  ferry::error load(storage::meta_store& meta, storage::log_store* log = nullptr);

  // ---- topics ----
  // `owner_session` makes a temporary topic owned by that session (options.temporary).
  ferry::error create_topic(const v1::CreateTopic& req, uint64_t owner_session, v1::TopicInfo& info,
                            meta_changes& changes);
  // Deleting a topic deletes the subscriptions on exactly its name (their consumers are
  // cancelled); wildcard subscriptions stay.
  ferry::error delete_topic(std::string_view name, bool if_exists, bool& deleted,
                            meta_changes& changes);
  memory_topic* find_topic(std::string_view name);
  log_topic* find_log_topic(std::string_view name);
  void describe(const memory_topic& t, v1::TopicInfo& out) const;
  void describe(const log_topic& t, v1::TopicInfo& out) const;
  void list_topics(std::string_view pattern, v1::TopicList& out) const;
  // Deletes the temporary topics of a closed session.
  void session_closed(uint64_t session_id);

  // ---- subscriptions ----
  ferry::error create_subscription(const v1::CreateSubscription& req, v1::SubscriptionInfo& info,
                                   meta_changes& changes);
  ferry::error delete_subscription(std::string_view name, bool if_exists, bool& deleted,
                                   meta_changes& changes);
  // A private subscription for one consumer; removed with remove_ephemeral().
  ferry::error create_ephemeral(std::string_view pattern, const v1::SubscriptionOptions& opts,
                                subscription*& out);
  void remove_ephemeral(subscription* s);
  subscription* find_subscription(std::string_view name);
  void describe(const subscription& s, v1::SubscriptionInfo& out) const;
  void list_subscriptions(std::string_view topic, v1::SubscriptionList& out) const;
  // Resolves options against the broker's defaults; error for out-of-range values.
  ferry::error resolve(const v1::SubscriptionOptions& in, subscription_options& out) const;

  // ---- publishing ----
  // Enqueues the messages of one Publish frame. `buf` holds the frame body that `pv` and
  // `messages` point into. Fills the PublishOk (per-message errors included).
  void publish(memory_topic& t, const codec::publish_view& pv,
               std::span<const std::string_view> messages, const bytes_ref& buf,
               v1::PublishOk& out);

  // ---- consumer groups (registry_groups.cpp) ----
  // The group `name` reading log topic `topic`, created on first use; an error when the
  // group reads another topic or the names are invalid.
  consumer_group* group_for(const std::string& name, const std::string& topic, ferry::error& err);
  consumer_group* find_group(std::string_view name);
  void leave_group(consumer_group& g, consumer& c);
  // Checks a commit and returns the records to write; apply_commit() after they are durable.
  ferry::error prepare_commit(const v1::CommitOffsets& req, consumer* member,
                              meta_changes& changes);
  void apply_commit(const v1::CommitOffsets& req);
  void list_groups(v1::GroupList& out);
  ferry::error describe_group(std::string_view name, v1::GroupInfo& out);

  // ---- timers ----
  void tick();

  // subscription_env
  int64_t now() const override { return now_; }
  void dead_letter(subscription& from, const message_ref& m, uint32_t delivery_count,
                   std::string_view reason, std::string_view detail) override;

  // Persistence keys.
  static std::string topic_key(std::string_view name) { return "topic/" + std::string(name); }
  static std::string subscription_key(std::string_view name) { return "sub/" + std::string(name); }

 private:
  // CreateTopic for a name that exists as a topic of the kind asked for: with if_not_exists
  // and the same options, success (`info` describes it); otherwise TOPIC_EXISTS.
  template <typename Topic>
  ferry::error answer_existing(const Topic& existing, const v1::TopicOptions& asked,
                               const v1::CreateTopic& req, v1::TopicInfo& info) const {
    bool same = existing.options().SerializeAsString() == asked.SerializeAsString();
    if (req.if_not_exists() && same) {
      describe(existing, info);
      return {};
    }
    return fail(errc::topic_exists, "topic " + quoted(req.name()) + " already exists" +
                                        (same ? "" : " with different options"));
  }

  ferry::error check_subscription_target(std::string_view pattern,
                                         const subscription_options& opts) const;
  subscription* add_subscription(std::string name, std::string pattern, subscription_options o,
                                 bool ephemeral);
  void erase_subscription(const std::string& name);
  void route_new_topic(memory_topic& t);
  ferry::error create_log_topic(const v1::CreateTopic& req, v1::TopicInfo& info,
                                meta_changes& changes);
  ferry::error check_log_options(const v1::TopicOptions& o) const;
  void delete_log_topic(std::string_view name, meta_changes& changes);
  ferry::error load_groups(storage::meta_store& meta);
  std::string topic_record(const memory_topic& t) const;
  std::string subscription_record(const subscription& s, const v1::SubscriptionOptions& o) const;

  const clock& clock_;
  registry_config cfg_;
  int64_t now_ = 0;
  int64_t last_producer_sweep_ = 0;
  int dead_letter_depth_ = 0;
  uint64_t next_ephemeral_ = 1;
  memory_accountant memory_;
  std::map<std::string, std::unique_ptr<memory_topic>, std::less<>> topics_;
  std::map<std::string, std::unique_ptr<log_topic>, std::less<>> log_topics_;
  std::map<std::string, std::unique_ptr<consumer_group>, std::less<>> groups_;
  log_port* log_port_;
  uint32_t next_topic_id_ = 1;
  std::map<std::string, std::unique_ptr<subscription>, std::less<>> subscriptions_;
  // The options as the client gave them (0 = default), to describe and persist them.
  std::map<std::string, v1::SubscriptionOptions, std::less<>> requested_options_;
};

}  // namespace ferry::broker
