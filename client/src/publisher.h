// publisher: the publish path of a client.
//
// Messages are encoded once, straight into the open buffer of Publish.messages fields of
// their lane (codec::append_publish_message). A lane is where a run of frames goes: a
// memory topic as a whole, or one partition of a log topic. At the end of the executor
// turn (client_options::linger later, or at once when the buffer reaches max_batch_bytes)
// the buffer becomes one Publish frame: a pending_op that stays in the client's table
// until PublishOk/Error, and that is resent unchanged after a reconnect (same producer id
// and sequences, so the broker dedups).
//
// Topic kinds: the first publish to a topic asks the broker (DescribeTopic) for its kind
// and partition count; publishes wait meanwhile (held). Log topics are routed here, not
// by the broker: message::partition, else partition_for_key(key), else round robin; an
// idempotent producer must name the partition and keeps a sequence per partition from 0.
// At most max_in_flight frames per log lane are unconfirmed (the broker remembers that
// many batches per producer); more wait in the lane. When a log lane's frame fails
// (the broker did not record its sequences) the lane continues under a new producer id
// (epoch), as the broker accepts any first sequence of a producer it does not know.
// A TOPIC_NOT_FOUND, PARTITION_NOT_FOUND, WRONG_TOPIC_KIND or INVALID_ARGUMENT answer
// makes the next publish describe the topic again.
//
// Back-pressure: bytes encoded (or held) but not yet confirmed are counted; past
// max_unconfirmed_bytes new publishes wait in a local queue (in order, never failed for
// it) and are encoded as confirms come back.
//
// Executor: the client's. Owned by client_impl, which outlives it; it reaches the
// connection only through its link.
#pragma once

#include <chrono>
#include <deque>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <boost/asio/steady_timer.hpp>

#include "client/src/link.h"
#include "ferry/client/client.h"
#include "support/lifetime.h"

namespace ferry::client::detail {

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

// The messages of one frame: being filled, or closed and waiting for a send slot.
struct frame_buffer {
  std::vector<uint8_t> messages;  // Publish.messages fields
  uint32_t count = 0;
  std::vector<publish_target> targets;
  std::chrono::steady_clock::time_point opened;  // first message in (linger)
  bool delayed = false;  // one delayed message, alone: sent without a producer sequence
};

struct topic_state;

// A stream of frames with its own sequences: a memory topic, or a log topic's partition.
struct lane {
  topic_state* topic = nullptr;
  std::optional<uint32_t> partition;  // set for log topics
  uint64_t next_sequence = 0;
  uint32_t epoch = 0;    // log lanes: bumped when broker and client disagree on sequences
  std::string producer;  // producer id of this epoch
  frame_buffer open;
  std::deque<frame_buffer> waiting;  // log lanes: closed, waiting for a send slot
  uint32_t in_flight = 0;            // frames sent and not yet answered
  bool dirty = false;                // in publisher::dirty_
};

// What the client knows of a topic.
struct topic_state {
  enum class kind { unknown, describing, memory, log };
  // A message admitted while the topic is being described.
  struct held {
    message msg;
    publish_target target;
    size_t bytes = 0;
  };

  std::string name;
  kind k = kind::unknown;
  bool stale = false;       // describe again before the next admission
  uint32_t partitions = 0;  // log topics
  uint32_t round_robin = 0;
  lane whole;                                // memory topics
  std::vector<std::unique_ptr<lane>> parts;  // log topics, by partition; never shrinks
  std::vector<held> holding;
};

// The outcome of a frame, as its lane needs to know it.
enum class frame_outcome { ok, failed, refresh };

class publisher {
 public:
  // Frames per log lane sent and not yet answered (idempotent producers).
  static constexpr uint32_t max_in_flight = 5;

  explicit publisher(link& c);

  void publish(std::string topic, message m, handler<publish_result> h);
  void publish_batch(std::string topic, std::vector<message> msgs, handler<batch_result> h);

  // A frame got its outcome: its bytes no longer count as unconfirmed.
  void release(size_t bytes);
  // A frame of `l` built under `epoch` got its outcome (`answered`: a response came).
  void frame_done(lane& l, uint32_t epoch, frame_outcome outcome, bool answered);
  // The client closed: fail what is encoded but not yet framed, held, and the queue.
  // (Framed publishes are pending_ops; the client fails those.)
  void fail_all(const error& e);

 private:
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
  // Encodes `m` now, holds it while the topic is described, or fails it (later).
  void admit_or_hold(topic_state& t, message&& m, publish_target&& target);
  // Encodes batch messages from `next` until done or over the limit; returns where it
  // stopped.
  uint32_t admit_batch(const std::string& topic, const std::shared_ptr<batch_op>& b, uint32_t next);
  // Encodes one message into its lane's open frame; fails with message_too_large,
  // partition_not_found, invalid_argument. `target` is moved from only on success.
  error admit(topic_state& t, const message& m, publish_target& target);
  error route(topic_state& t, const message& m, lane*& out);
  lane& log_lane(topic_state& t, uint32_t partition);
  void mark_dirty(lane& l);
  // The open buffer becomes a frame: sent, or (log lanes at their limit) left waiting.
  void close_frame(lane& l);
  void send_frame(lane& l, frame_buffer& fb);
  // Sends waiting frames (and, with a slot left, the open buffer) of `l`.
  void pump(lane& l);
  void flush();
  void arm_linger(std::chrono::steady_clock::time_point at);
  void drain();
  size_t batch_limit(const topic_state& t) const;

  // publisher_topics.cpp: kinds and partition counts.
  void describe(topic_state& t);
  void on_described(const std::string& name, const error& e, const v1::TopicInfo& info);
  // Fails one admitted message (`whole`: it failed as its whole frame would).
  void fail_target(publish_target& target, const error& e, bool whole);

  link& c_;
  std::unordered_map<std::string, topic_state> topics_;  // never erased: sequences live on
  std::vector<lane*> dirty_;
  bool flush_posted_ = false;
  boost::asio::steady_timer linger_timer_;
  bool linger_armed_ = false;
  std::deque<queued> queue_;
  size_t unconfirmed_bytes_ = 0;
  size_t held_bytes_ = 0;
  std::vector<codec::header_view> header_scratch_;
  lifetime_token lifetime_;  // last: callbacks posted for later check it
};

// The pending_op of one Publish frame, resent as is after a reconnect
// (publish_result.cpp). `message_bytes` are released from `pub`'s unconfirmed count when
// it completes; `l` learns the frame's outcome.
std::unique_ptr<pending_op> make_publish_op(publisher& pub, std::vector<uint8_t> frame,
                                            size_t message_bytes,
                                            std::vector<publish_target> targets, lane& l,
                                            uint32_t epoch);
// Fails every message of `targets`.
void fail_targets(link& c, std::vector<publish_target>& targets, const error& e);
// Batch bookkeeping: record message `index` as failed (`whole`: with its whole frame);
// complete the batch once no message is outstanding (`later`: posted, for initiations).
void batch_fail(batch_op& b, uint32_t index, const error& e, bool whole);
void batch_finish_if_done(link& c, const std::shared_ptr<batch_op>& b, bool later);

}  // namespace ferry::client::detail
