// log_share: one shared subscription on a log topic (PROTOCOL.md 9.9), the feed of its
// `subscription` (queues/subscription_feed.h). The subscription does what it does for a
// memory topic (consumers with credit, leases, delivery ids, acks, nacks, redelivery,
// max_deliveries); this side
// - reads the log from the subscription's low-water mark through a log reader of its own
//   (the feeder: at most `read_ahead` records held, read or in flight, at once), skipping
//   what is done and giving each record the delivery count storage remembers;
// - keeps each partition's delivery state (share_state) and writes what changed to storage
//   (meta keys share/NAME/PARTITION, synced), one write at a time with everything that
//   changed meanwhile; settling is answered once its change is written (settle_barrier);
// - dead-letters to any topic, at least once: the record is done only once the dead-letter
//   topic took it.
// Loop only; storage writes run on the storage thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

#include "ferry/v1/publish.pb.h"

#include "broker/queues/subscription_feed.h"
#include "broker/shares/share_state.h"
#include "broker/topics/consumer.h"
#include "support/lifetime.h"

namespace ferry::storage {
class meta_store;
}

namespace ferry::broker {

class log_topic;
class loop_clock;
class topic_directory;

// What every log share works with (share_registry's).
struct share_context {
  using task = std::function<void()>;
  topic_directory& topics;  // dead-letter topics, of either kind
  storage::meta_store& store;
  const loop_clock& clock;
  std::function<void(task)> on_storage;     // a blocking call on the storage thread
  std::function<void(task)> on_loop;        // back on the loop, as an event
  uint32_t read_ahead = 10000;              // records held (read, not done) at most
  uint64_t read_ahead_bytes = 64ull << 20;  // and their message bytes
  size_t* settles_waiting = nullptr;  // settles of every share waiting for a write (a drain waits)
};

class log_share final : public subscription_feed, public delivery_sink, public settle_barrier {
 public:
  // `states`: one per partition of `t`, recovered or new.
  log_share(std::string name, log_topic& t, std::vector<share_state> states,
            const share_context& ctx);
  ~log_share() override;

  // subscription_feed
  void start(subscription& s) override;
  void describe(v1::SubscriptionInfo& out) const override;
  void record_state(catalog_batch& b) const override;
  void erase_state(catalog_batch& b) const override;

  // subscription_env
  int64_t now() const override;
  void dead_letter(subscription& from, uint64_t seq, const message_ref& m, uint32_t delivery_count,
                   std::string_view reason, std::string_view detail) override;
  void delivering(subscription& s, uint64_t seq, delivery_meta& meta) override;
  void acked(subscription& s, uint64_t seq) override;
  settle_barrier* barrier() override { return this; }

  // settle_barrier
  void after_durable(std::function<void(const ferry::error&)> fn) override;

  // delivery_sink, for the feeder
  void deliver(consumer& c, const message_ref& m, const delivery_meta& meta) override;
  void consumer_cancelled(consumer& c, errc code, std::string_view why) override;
  void assignment_changed(consumer&, const v1::Assignment&) override {}
  void consumer_closing(consumer&, bool) override {}

  const share_state& state(uint32_t partition) const { return states_[partition]; }

 private:
  struct position {
    uint32_t partition;
    uint32_t bytes;  // the record's message size, held until it is done
    uint64_t offset;
  };
  using waiter = std::function<void(const ferry::error&)>;

  // Record `seq` is done (acked, dead-lettered, dropped): its state moves, its room in the
  // read-ahead comes back.
  void finish(uint64_t seq);
  void changed(uint32_t partition);
  void skip_retained(uint32_t partition, uint64_t start);
  void update_gate();
  // Answers settles that waited (and counts them out of ctx.settles_waiting).
  void answer(std::vector<waiter> who, const ferry::error& err);
  void write();
  void written(const ferry::error& err);
  void publish_dead_letter(uint64_t seq, const message_ref& m, std::vector<uint8_t> body);
  void dead_lettered(uint64_t seq, const message_ref& m, const ferry::error& err,
                     const v1::PublishOk& ok);

  std::string name_;
  log_topic& topic_;
  std::vector<share_state> states_;
  const share_context& ctx_;
  subscription* sub_ = nullptr;
  consumer feeder_;
  bool attached_ = false;
  int feeding_ = 0;  // inside the feeder's delivery: the log is pumping, do not credit it
  uint64_t held_bytes_ = 0;
  bool full_ = false;  // the feeder's gate: the read-ahead is full (update_gate)
  boost::unordered_flat_map<uint64_t, position> positions_;  // by seq, until done

  std::vector<bool> dirty_;
  bool any_dirty_ = false;
  bool writing_ = false;
  std::vector<waiter> waiting_write_;         // answered by the write under way
  std::vector<waiter> waiting_next_;          // need the next write (their change came after)
  size_t dead_lettering_ = 0;                 // dead-letter publishes under way
  std::vector<waiter> waiting_dead_letters_;  // settles waiting for them first
  lifetime_token lifetime_;
};

}  // namespace ferry::broker
