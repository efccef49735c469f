// Plain types of libferry's API: what an application publishes and receives, options,
// results and errors. No Asio here; both the async client (client.h) and the blocking
// facade (blocking_client.h) use these.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/log.pb.h"
#include "ferry/v1/publish.pb.h"
#include "ferry/v1/security.pb.h"

#include "proto/codec/errc.h"
#include "proto/codec/frame_codec.h"

namespace ferry::client {

using ferry::errc;
using ferry::error;
namespace v1 = ferry::v1;

// A message to publish. Empty fields are not sent.
struct message {
  std::string payload;
  std::string key;  // partition key (log topics); carried along on memory topics
  // Log topics: the partition to append to. Unset: partition_for_key(key) when the key is
  // not empty, else round robin. Must stay unset for memory topics (INVALID_ARGUMENT).
  std::optional<uint32_t> partition;
  std::vector<std::pair<std::string, std::string>> headers;
  std::chrono::milliseconds ttl{0};  // 0 = none (the topic's TTL still applies)
  std::string reply_to;
  std::string correlation_id;
  // CloudEvents attributes.
  std::string id, source, type, subject;
  int64_t time_ms = 0;
  std::string content_type, traceparent;
  int64_t expiry_time_ms = 0;
  // Delayed delivery (PROTOCOL.md 5.7): held by the broker until this long after it
  // received the message, or until not_before_ms (Unix ms; it wins when both are set). A
  // delayed message goes in a Publish of its own, without a producer sequence: idempotent
  // producers do not deduplicate it.
  std::chrono::milliseconds delay{0};
  int64_t not_before_ms = 0;

  message() = default;
  explicit message(std::string p) : payload(std::move(p)) {}
};

// A received message. Its views point into the frame it arrived in, which it keeps alive;
// copy what you need to keep past the delivery's lifetime.
class delivery {
 public:
  uint64_t consumer_id() const { return consumer_id_; }
  // Which connection of the client it arrived on: a delivery from an earlier connection
  // can no longer be settled (the broker redelivers it).
  uint64_t connection_epoch() const { return epoch_; }
  uint64_t delivery_id() const { return view_.delivery_id; }
  uint32_t delivery_count() const { return view_.delivery_count; }
  std::string_view topic() const { return view_.topic; }
  int64_t timestamp_ms() const { return view_.timestamp_ms; }
  uint32_t partition() const { return view_.partition; }
  uint64_t offset() const { return view_.offset; }

  std::string_view payload() const { return fields_.payload; }
  std::string_view key() const { return fields_.key; }
  const codec::message_fields& fields() const { return fields_; }
  // Headers in order (parsed on first call).
  const std::vector<codec::header_view>& headers() const;
  // The value of the first header named `key`, if any.
  std::optional<std::string_view> header(std::string_view key) const;

  // Construction is the client's business.
  delivery(std::shared_ptr<const std::vector<uint8_t>> frame, uint64_t consumer_id,
           const codec::delivery_view& view, const codec::message_fields& fields,
           uint64_t connection_epoch = 0)
      : frame_(std::move(frame)),
        consumer_id_(consumer_id),
        epoch_(connection_epoch),
        view_(view),
        fields_(fields) {}

 private:
  std::shared_ptr<const std::vector<uint8_t>> frame_;
  uint64_t consumer_id_;
  uint64_t epoch_;
  codec::delivery_view view_;
  codec::message_fields fields_;
  mutable std::optional<std::vector<codec::header_view>> headers_;
};

struct publish_result {
  uint32_t subscriptions = 0;  // memory topics: subscriptions the message was enqueued on
  bool duplicate = false;      // a retry the broker had already accepted
  uint32_t partition = 0;      // log topics
  uint64_t offset = 0;         // log topics (a duplicate's: the original's offset)
  // Partition and offset were reported (log topics). False for a duplicate of a batch
  // older than the broker remembers (its original offset is unknown).
  bool has_offset = false;
  // A delayed message: its id in the broker's schedule (partition and offset come when it
  // is published, at its due time).
  std::string scheduled_id;
};

struct batch_result {
  uint32_t accepted = 0;
  uint32_t duplicates = 0;
  uint32_t subscriptions = 0;
  // Per-message refusals (index into the batch). The batch's error is set only when the
  // whole batch failed.
  std::vector<std::pair<uint32_t, error>> failures;
  // Log topics: per message of the batch (0 for failed messages, and offset 0 for a
  // duplicate whose original offset the broker no longer knows).
  std::vector<uint32_t> partitions;
  std::vector<uint64_t> offsets;
};

// A reply to request().
struct reply {
  std::string topic;
  std::string payload;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string correlation_id;
};

enum class connection_state {
  connecting,    // first connect or a reconnect attempt under way
  connected,     // handshake done; subscriptions re-created after a reconnect
  disconnected,  // connection lost; a reconnect follows after a backoff
  closed,        // close() was called, or reconnecting is off and the connection was lost
};
const char* to_string(connection_state s);

// How the client proves who it is, when the broker has authentication on. With `token`
// (made by `ferry token create`), the TOKEN mechanism; with `username`, SCRAM-SHA-256: the
// password stays in this process (the broker sees a proof, and proves it holds the user's
// keys in turn). Both empty: anonymous, which only a broker without authentication takes.
struct credentials {
  std::string username, password, token;
};

// The SCRAM-SHA-256 keys of `password` with a fresh salt: what CreateUser and
// SetUserPassword carry in place of the password.
v1::ScramCredential make_scram_credential(std::string_view password);

// TLS to a broker with tls.enabled (TLS 1.2 or 1.3). The broker's certificate is checked
// against `ca_file` (else the system's CAs) and, unless verify_server_name is false,
// against `server_name` (else the host connected to): a DNS name or an IP address in its
// subject alternative names. `cert_file` and `key_file` (PEM) present a client certificate
// to a broker that asks for one (mutual TLS: its common name is who the client is).
struct tls_options {
  bool enabled = false;
  std::string ca_file;
  std::string cert_file, key_file;
  std::string server_name;
  bool verify_server_name = true;
};

struct broker_address {
  std::string host;
  uint16_t port = 0;
};

struct client_options {
  std::string host = "127.0.0.1";
  uint16_t port = 7411;
  // Several brokers (a cluster's nodes, docs/CLUSTER.md): when not empty, used instead of
  // host and port. A connect tries them in turn from the one after the last that failed;
  // the first connect fails only when every one of them has.
  std::vector<broker_address> brokers;
  std::string client_id;  // default: "libferry-<random>"
  credentials creds;
  tls_options tls;
  // Reconnect with jittered exponential backoff between these bounds.
  bool reconnect = true;
  std::chrono::milliseconds reconnect_min{50};
  std::chrono::milliseconds reconnect_max{5000};
  std::chrono::milliseconds connect_timeout{5000};
  // A request without an answer after this long fails with errc::timeout.
  std::chrono::milliseconds request_timeout{30000};
  // Publish batching: messages published to the same topic (log topics: partition) in the
  // same executor turn go out in one Publish frame of at most this many bytes of messages.
  size_t max_batch_bytes = 256 * 1024;
  // How long a partly filled batch waits for more messages; 0 = until the end of the
  // executor turn. A full batch goes at once.
  std::chrono::milliseconds linger{0};
  // Messages published but not yet confirmed; past it, publishes wait (back-pressure).
  size_t max_unconfirmed_bytes = 16 * 1024 * 1024;
  // Idempotent publishing: a producer id per client and a sequence per message, so
  // the publishes the client resends after a reconnect are not enqueued twice. Log topics:
  // sequences are per partition and at most 5 frames per partition are unconfirmed (the
  // broker remembers the last 5 batches of a producer).
  bool idempotent = true;
  // Told of every state change, on the client's executor.
  std::function<void(connection_state, const error&)> on_state;
  // Told of broker notices (kind as in the .proto: "FLOW_BLOCKED", "FLOW_UNBLOCKED",
  // "CONSUMER_CANCELLED", "SHUTTING_DOWN", "CLOSING"), on the client's executor. When
  // unset, flow and cancel notices are logged to stderr.
  std::function<void(std::string_view kind, const error&)> on_notice;
};

// Options of one consumer (Subscribe request).
struct subscribe_options {
  std::string subscription;  // empty = ephemeral subscription on `pattern`
  std::string pattern;
  uint32_t prefetch = 0;  // 0 = broker default
  bool auto_ack = false;
  bool create_if_missing = false;
  v1::SubscriptionOptions options;  // for ephemeral or created subscriptions
};

// Called on the client's executor for every delivery of a consumer.
using delivery_handler = std::function<void(const delivery&)>;

// Start positions of log-topic readers.
struct position {
  static v1::Position earliest();
  static v1::Position latest();
  static v1::Position offset(uint64_t offset);
  // The first record with a timestamp at or after `unix_ms`.
  static v1::Position time(int64_t unix_ms);
};

// (partition, offset) pairs: committed offsets are the next offset to read.
using partition_offsets = std::vector<std::pair<uint32_t, uint64_t>>;

// Options of one log-topic reader (ConsumeLog). Three ways to read:
// - manual assignment: `partitions` lists (partition, start); `group` empty;
// - every partition: `partitions` and `group` empty; each starts at `default_start`;
// - group member: `group` set, `partitions` empty; the broker assigns partitions and each
//   starts at the group's committed offset, or at `default_start` without one.
// With both `group` and `partitions`, the assignment is manual and offsets are committed
// to `group` unfenced (consumer_id 0).
struct consume_options {
  std::string topic;
  std::vector<std::pair<uint32_t, v1::Position>> partitions;
  std::string group;
  v1::Position default_start;  // default EARLIEST
  // Deliveries pushed but not yet handled; 0 = the broker's default.
  uint32_t credit = 0;
  // Group members: the broker gives the member's partitions to others when its connection
  // is silent this long; the client pings when idle for a third of it.
  std::chrono::milliseconds session_timeout{10000};
  // Commit, per partition that advanced, the offset after the last delivery handled:
  // every auto_commit_interval, when partitions are revoked, and on close. Needs a group.
  bool auto_commit = true;
  std::chrono::milliseconds auto_commit_interval{1000};
  // Group members, on the client's executor. on_assigned: partitions now delivered.
  // on_revoked: partitions taken away; no more deliveries of them reach the handler, and
  // (with auto_commit) their progress is committed before this runs. Also called with
  // every partition when the connection is lost (the group reassigns them at once).
  std::function<void(const std::vector<uint32_t>&)> on_assigned, on_revoked;
};

}  // namespace ferry::client
