// publisher: the publish path of a client.
//
// Messages are encoded once, straight into a per-topic buffer of Publish.messages fields
// (codec::append_publish_message). At the end of the executor turn (a posted flush), or
// when the buffer reaches max_batch_bytes, the buffer becomes one Publish frame: a
// pending_op that stays in the client's table until PublishOk/Error, and that is resent
// unchanged after a reconnect (same producer id and sequences, so the broker dedups).
//
// Back-pressure: bytes encoded but not yet confirmed are counted; past
// max_unconfirmed_bytes new publishes wait in a local queue (in order, never failed for
// it) and are encoded as confirms come back.
//
// Executor: the client's. Owned by client_impl, which outlives it.
#pragma once

#include <deque>
#include <string>
#include <unordered_map>
#include <vector>

#include "ferry/client/client.h"

namespace ferry::client::detail {

class client_impl;
class pending_op;

// A publish_batch call: one handler, its messages possibly spread over several frames.
struct batch_op {
  handler<batch_result> h;
  batch_result result;
  std::vector<message> msgs;  // kept until every message is encoded
  uint32_t size = 0;
  uint32_t remaining = 0;       // messages without an outcome yet
  uint32_t whole_failures = 0;  // messages that failed with their whole frame
  error first_error;
};

// Who learns the outcome of a run of messages in a frame: one async_publish, or
// `count` consecutive messages of a batch starting at batch index `first`.
struct publish_target {
  handler<publish_result> single;
  std::shared_ptr<batch_op> batch;
  uint32_t first = 0;
  uint32_t count = 1;
};

class publisher {
 public:
  explicit publisher(client_impl& c) : c_(c) {}

  void publish(std::string topic, message m, handler<publish_result> h);
  void publish_batch(std::string topic, std::vector<message> msgs, handler<batch_result> h);

  // A frame got its outcome: its bytes no longer count as unconfirmed.
  void release(size_t bytes);
  // The client closed: fail what is encoded but not yet framed, and the queue.
  // (Framed publishes are pending_ops; the client fails those.)
  void fail_all(const error& e);

 private:
  struct topic_state {
    std::string name;
    uint64_t next_sequence = 1;
    std::vector<uint8_t> messages;  // Publish.messages fields of the open frame
    uint32_t count = 0;
    std::vector<publish_target> targets;
    bool dirty = false;  // in dirty_, flushed at the end of the turn
  };
  // A publish waiting for unconfirmed bytes to drop.
  struct queued {
    std::string topic;
    message msg;
    handler<publish_result> single;
    std::shared_ptr<batch_op> batch;  // or messages batch->msgs[next...]
    uint32_t next = 0;
  };

  bool over_limit() const;
  topic_state* topic(const std::string& name, error& err);
  // Encodes one message into t's open frame; fails with message_too_large.
  error admit(topic_state& t, const message& m, publish_target& target);
  // Encodes batch messages from `next` until done or over the limit; returns where it
  // stopped.
  uint32_t admit_batch(const std::string& topic, const std::shared_ptr<batch_op>& b, uint32_t next);
  void build_frame(topic_state& t);
  void flush();
  void drain();
  size_t batch_limit(const topic_state& t) const;

  client_impl& c_;
  std::unordered_map<std::string, topic_state> topics_;  // never erased: sequences live on
  std::vector<topic_state*> dirty_;
  bool flush_posted_ = false;
  std::deque<queued> queue_;
  size_t unconfirmed_bytes_ = 0;
  std::vector<codec::header_view> header_scratch_;
};

// The pending_op of one Publish frame, resent as is after a reconnect
// (publish_result.cpp). `message_bytes` are released from the unconfirmed count when it
// completes.
std::unique_ptr<pending_op> make_publish_op(std::vector<uint8_t> frame, size_t message_bytes,
                                            std::vector<publish_target> targets);
// Fails every message of `targets`.
void fail_targets(client_impl& c, std::vector<publish_target>& targets, const error& e);
// Batch bookkeeping: record message `index` as failed (`whole`: with its whole frame);
// complete the batch once no message is outstanding (`later`: posted, for initiations).
void batch_fail(batch_op& b, uint32_t index, const error& e, bool whole);
void batch_finish_if_done(client_impl& c, const std::shared_ptr<batch_op>& b, bool later);

}  // namespace ferry::client::detail
