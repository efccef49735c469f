// queue_registry: the memory topics and their subscriptions, and the routing between them.
//
// Owns the memory topics, the subscriptions (durable, ephemeral) and the accountant of
// message memory. Keeps each topic's list of matching subscriptions current as topics
// and subscriptions come and go (wildcard subscriptions match topics created later).
// Definition changes are recorded in a catalog_batch that the caller applies; the caller
// answers the client after.
//
// Lifecycle: construct, recover() the stored definitions, then serve; tick() runs the
// timers. Broker loop only; time is the loop_clock's (stamped once per event).
#pragma once

#include <map>
#include <memory>
#include <string>

#include "broker/catalog/catalog.h"
#include "broker/core/clock.h"
#include "broker/core/errors.h"
#include "broker/core/list_page.h"
#include "broker/queues/memory_topic.h"
#include "broker/queues/queue_settings.h"
#include "broker/queues/subscription.h"
#include "broker/queues/subscription_feed.h"
#include "broker/topics/topic_family.h"

namespace ferry::broker {

class queue_registry final : public topic_family, public subscription_env {
 public:
  queue_registry(const loop_clock& clock, queue_settings settings);
  ~queue_registry();

  const queue_settings& settings() const { return settings_; }
  const queue_probe& probe() const { return probe_; }
  memory_accountant& memory() { return memory_; }

  // Shared subscriptions on log topics: where their feeds come from (shares/). Without
  // it a subscription naming a log topic is WRONG_TOPIC_KIND. Before recover().
  void set_feeds(subscription_feeds* f) { feeds_ = f; }
  // The feed of a subscription on a log topic, or nullptr (a memory subscription).
  subscription_feed* feed_of(std::string_view subscription) const;

  // ---- recovery ----
  // The memory topics and subscriptions of a catalog snapshot (log topics are skipped).
  ferry::error recover(const catalog_snapshot& snap);

  // ---- topics (topic_family) ----
  v1::TopicKind kind() const override { return v1::MEMORY; }
  memory_topic* find(std::string_view name) override;
  // `owner_session` makes a temporary topic owned by that session (options.temporary).
  ferry::error create(const v1::CreateTopic& req, uint64_t owner_session, const topic* other_kind,
                      v1::TopicInfo& info, catalog_batch& b) override;
  // The subscriptions on exactly this name go with it (their consumers are cancelled);
  // wildcard subscriptions stay.
  void remove(std::string_view name, catalog_batch& b) override;
  void for_each(const std::function<void(const topic&)>& fn) const override;
  // The subscriptions whose pattern is exactly `topic` go (a topic of either kind is being
  // deleted); their consumers are cancelled.
  void remove_subscriptions_on(std::string_view topic, catalog_batch& b);
  // Deletes the temporary topics of a closed session.
  void session_closed(uint64_t session_id);

  // ---- subscriptions ----
  // `other_kind` is the topic of another kind that req.pattern() names exactly, if any
  // (refused with WRONG_TOPIC_KIND in its turn).
  ferry::error create_subscription(const v1::CreateSubscription& req, const topic* other_kind,
                                   v1::SubscriptionInfo& info, catalog_batch& b);
  // Sets (or, with an empty url, removes) the push endpoint of a durable subscription;
  // the changed definition is recorded in `b`, and `info` describes it.
  ferry::error set_push(std::string_view name, const v1::PushEndpoint& push, catalog_batch& b,
                        v1::SubscriptionInfo& info);
  ferry::error delete_subscription(std::string_view name, bool if_exists, bool& deleted,
                                   catalog_batch& b);
  // A private subscription for one consumer; removed with remove_ephemeral().
  ferry::error create_ephemeral(std::string_view pattern, const v1::SubscriptionOptions& opts,
                                const topic* other_kind, subscription*& out);
  void remove_ephemeral(subscription* s);
  subscription* find_subscription(std::string_view name);
  void describe(const subscription& s, v1::SubscriptionInfo& out) const;
  void list_subscriptions(std::string_view topic, v1::SubscriptionList& out,
                          const list_page& page = {}) const;
  // Resolves options against the broker's defaults; error for out-of-range values.
  ferry::error resolve(const v1::SubscriptionOptions& in, subscription_options& out) const;

  // ---- timers ----
  // Lease ends and TTLs of due subscriptions; forgets idle producers once a second.
  void tick();

  // subscription_env
  int64_t now() const override { return clock_.now(); }
  void dead_letter(subscription& from, uint64_t seq, const message_ref& m, uint32_t delivery_count,
                   std::string_view reason, std::string_view detail) override;

 private:
  ferry::error check_subscription_target(std::string_view pattern, const topic* other_kind,
                                         const subscription_options& opts) const;
  subscription* add_subscription(std::string name, std::string pattern, subscription_options o,
                                 bool ephemeral, std::unique_ptr<subscription_feed> feed = {});
  void erase_subscription(const std::string& name);
  void route_new_topic(memory_topic& t);
  // CreateTopic for a name that exists: with if_not_exists and the same options, success
  // (`info` describes it); otherwise TOPIC_EXISTS.
  ferry::error answer_existing(const memory_topic& existing, const v1::CreateTopic& req,
                               v1::TopicInfo& info) const;

  const loop_clock& clock_;
  queue_settings settings_;
  memory_accountant memory_;
  queue_probe probe_;
  queue_context ctx_{settings_, clock_, memory_, probe_};
  int64_t last_producer_sweep_ = 0;
  int dead_letter_depth_ = 0;
  uint64_t next_ephemeral_ = 1;
  std::map<std::string, std::unique_ptr<memory_topic>, std::less<>> topics_;
  std::map<std::string, std::unique_ptr<subscription>, std::less<>> subscriptions_;
  // The options as the client gave them (0 = default), to describe and store them.
  std::map<std::string, v1::SubscriptionOptions, std::less<>> requested_options_;
  subscription_feeds* feeds_ = nullptr;
  // The feeds of subscriptions on log topics (gone before the subscriptions they feed).
  std::map<std::string, std::unique_ptr<subscription_feed>, std::less<>> feeds_by_name_;
};

}  // namespace ferry::broker
