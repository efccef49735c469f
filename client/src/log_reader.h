// log_reader: the log-topic readers of a client (ConsumeLog), manual and group members.
//
// Each log_consumer handle shares a log_consumer_state, which outlives connections: after
// a reconnect the reader is attached again (manual: every partition from the offset after
// its last delivery; group: it joins again and the broker resumes from committed offsets)
// and gets the new broker consumer id, so the handle stays valid.
//
// Per partition the state keeps `next` (the offset the next delivery must have; older
// ones are stale and dropped), `processed` (after the last delivery the handler returned
// from: what commits store) and `committed`. While a Seek is under way, deliveries of its
// partition are held: records from the old position may still come, and only SeekOk says
// where the new position is (see accept()).
//
// Group members: Assignment pushes add partitions and revoke others; revoked partitions
// stop reaching the handler at once, their progress is committed (auto_commit), then
// on_revoked runs and RevokeDone goes back. A keepalive Ping goes out when the connection
// was idle for a third of the smallest session timeout.
//
// Credit goes back per Deliver frame for the deliveries handled or dropped (the blocking
// facade returns it as the application takes deliveries: manual_credit).
//
// Executor: the client's. Owned by client_impl, which outlives it, and reaches the
// connection only through its link; the states hold no I/O objects, so handles may
// outlive the client. Group handling, commits and the keepalive
// are in log_group.cpp.
#pragma once

#include <map>
#include <optional>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "client/src/consumer_table.h"
#include "client/src/link.h"
#include "ferry/client/client.h"
#include "support/lifetime.h"

namespace ferry::v1 {
class ConsumeLogOk;
class TopicInfo;
}  // namespace ferry::v1

namespace ferry::client::detail {

class client_impl;

// A delivery that arrived while a Seek of its partition was under way.
struct held_delivery {
  std::shared_ptr<const std::vector<uint8_t>> frame;
  codec::delivery_view view;
};

struct log_partition_state {
  uint64_t next = 0;        // the offset the next delivery must have (resume position)
  uint64_t processed = 0;   // after the last delivery processed (commit position)
  uint64_t committed = 0;   // what the group has, as far as this reader knows
  bool revoked = false;     // group: taken away; kept until on_revoked ran
  uint32_t seeks = 0;       // Seeks under way
  bool after_seek = false;  // moved to `next` by a seek: drop all until a record at `next`
  std::vector<held_delivery> held;
};

struct log_consumer_state {
  log_consumer_state(boost::asio::any_io_executor e, std::weak_ptr<client_impl> c)
      : ex(std::move(e)), client(std::move(c)) {}

  // Joins a group (the broker assigns partitions) rather than naming partitions.
  bool member() const { return !opts.group.empty() && opts.partitions.empty(); }
  // Has a group to commit to.
  bool commits() const { return !opts.group.empty(); }

  boost::asio::any_io_executor ex;
  std::weak_ptr<client_impl> client;
  consume_options opts;
  delivery_handler on_delivery;
  uint64_t broker_id = 0;  // on connection `epoch`; 0 = not attached there
  uint64_t epoch = 0;
  bool closed = false;  // no more deliveries (closing or closed)
  bool done = false;    // closed for good; on_closed ran
  std::string member_id;
  uint64_t generation = 0;
  std::map<uint32_t, log_partition_state> parts;
  bool commit_in_flight = false;  // auto-commit
  std::chrono::steady_clock::time_point next_commit = std::chrono::steady_clock::time_point::max();

  // For libferry's facades:
  bool manual_credit = false;     // credit for handled deliveries comes from grant_credit
  bool manual_processed = false;  // processed offsets come from mark_processed
  // Deliveries of these partitions that the facade queued are stale (seek, revoke).
  std::function<void(const std::vector<uint32_t>&)> on_drop;
  std::function<void(const error&)> on_closed;  // runs once, when it closes
};

class log_reader {
 public:
  explicit log_reader(link& c);

  void consume(std::shared_ptr<log_consumer_state> s, handler<log_consumer> h);
  void commit(const std::shared_ptr<log_consumer_state>& s,
              std::optional<partition_offsets> offsets, void_handler h);
  void seek(const std::shared_ptr<log_consumer_state>& s, uint32_t partition,
            const v1::Position& position, handler<uint64_t> h);
  void close(const std::shared_ptr<log_consumer_state>& s, void_handler h);
  // Facades: credit for `n` deliveries of connection `epoch`; `partition` was processed
  // up to (not including) `next`.
  void grant_credit(const std::shared_ptr<log_consumer_state>& s, uint64_t epoch, uint32_t n);
  void mark_processed(const std::shared_ptr<log_consumer_state>& s, uint32_t partition,
                      uint64_t next);

  // From the read loop. on_deliver/on_cancelled return false for ids that are not readers.
  bool on_deliver(const std::shared_ptr<const std::vector<uint8_t>>& frame, uint64_t consumer_id,
                  const std::vector<codec::delivery_view>& views);
  bool on_cancelled(uint64_t consumer_id, const error& e);
  void on_assignment(std::string_view body);
  void on_connected();
  void on_disconnected();
  void fail_all(const error& e);

 private:
  bool live(const log_consumer_state& s) const;
  // Whether a delivery at `offset` is the next one of the partition (else it is stale).
  static bool accept(log_partition_state& p, uint64_t offset);
  void describe_then_consume(const std::shared_ptr<log_consumer_state>& s, handler<log_consumer> h,
                             bool resume);
  void on_described(const std::shared_ptr<log_consumer_state>& s, const error& e,
                    const v1::TopicInfo& info, handler<log_consumer> h, bool resume);
  void send_consume(const std::shared_ptr<log_consumer_state>& s, handler<log_consumer> h);
  void on_consumed(const std::shared_ptr<log_consumer_state>& s, const error& e,
                   const v1::ConsumeLogOk& ok, handler<log_consumer> h);
  // Gives one delivery to the handler.
  void hand_over(const std::shared_ptr<log_consumer_state>& s,
                 const std::shared_ptr<const std::vector<uint8_t>>& frame,
                 const codec::delivery_view& v, uint64_t epoch);
  void on_seek(const std::shared_ptr<log_consumer_state>& s, uint32_t partition, uint64_t epoch,
               const error& e, uint64_t next, handler<uint64_t> h);
  // Hands over or drops what was held during seeks.
  void release_held(const std::shared_ptr<log_consumer_state>& s, uint32_t partition);
  void credit(const std::shared_ptr<log_consumer_state>& s, uint64_t epoch, uint32_t n);
  void finish_close(const std::shared_ptr<log_consumer_state>& s, uint64_t consumer_id,
                    bool unsubscribe, const error& commit_error, void_handler h);
  void mark_closed(const std::shared_ptr<log_consumer_state>& s, const error& e);
  void forget(const std::shared_ptr<log_consumer_state>& s);

  // log_group.cpp
  void revoke(const std::shared_ptr<log_consumer_state>& s, uint64_t generation,
              std::vector<uint32_t> revoked, partition_offsets to_commit);
  void after_revoke(const std::shared_ptr<log_consumer_state>& s, uint64_t epoch,
                    uint64_t generation, const std::vector<uint32_t>& revoked);
  // Partitions whose processed offset moved since their last commit.
  static partition_offsets advanced(const log_consumer_state& s);
  void send_commit(const std::shared_ptr<log_consumer_state>& s, partition_offsets offsets,
                   void_handler h);
  void arm_auto_commit(const std::shared_ptr<log_consumer_state>& s);
  void auto_commit(const std::shared_ptr<log_consumer_state>& s);
  // One timer for every reader's auto-commit, armed for the earliest one due.
  void schedule_commits();
  void on_commit_timer(uint64_t generation);
  void update_keepalive();
  void arm_keepalive(std::chrono::milliseconds after);
  void on_keepalive(uint64_t generation);

  link& c_;
  consumer_table<log_consumer_state> table_;
  boost::asio::steady_timer commit_timer_;
  std::chrono::steady_clock::time_point commit_at_ = std::chrono::steady_clock::time_point::max();
  uint64_t commit_generation_ = 0;
  boost::asio::steady_timer keepalive_timer_;
  std::chrono::milliseconds keepalive_{0};  // 0 = no group member needs one
  uint64_t keepalive_generation_ = 0;       // a timer armed for an older one is stale
  lifetime_token lifetime_;                 // last: callbacks posted for later check it
};

}  // namespace ferry::client::detail
