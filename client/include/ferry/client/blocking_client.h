// libferry's blocking facade: the async client on a private I/O thread, for programs that
// are not built around an event loop (the `ferry` CLI, scripts, simple services).
//
// Every call blocks until the broker answered (or the request timeout passed) and
// returns a result. Thread-safe: calls from several threads are serialized onto the
// I/O thread. Deliveries are queued and taken with next().
#pragma once

#include <deque>
#include <memory>
#include <variant>

#include "ferry/client/types.h"

namespace ferry::client {

// A value or an error; `if (r)` tests for success.
template <typename T>
class result {
 public:
  result(T v) : v_(std::move(v)) {}      // NOLINT: implicit on purpose
  result(error e) : v_(std::move(e)) {}  // NOLINT
  explicit operator bool() const { return v_.index() == 0; }
  T& value() { return std::get<0>(v_); }
  const T& value() const { return std::get<0>(v_); }
  T* operator->() { return &value(); }
  const error& err() const { return std::get<1>(v_); }

 private:
  std::variant<T, error> v_;
};

struct ok_t {};

class blocking_client;

// A consumer whose deliveries wait in a local queue (at most its prefetch of them: with
// auto_ack, credit goes back to the broker only as next() takes deliveries).
// Copies share the consumer. It may outlive its blocking_client; calls then fail with
// errc::disconnected.
class blocking_consumer {
 public:
  // The next delivery, or nullopt when `timeout` passes first or the consumer closed.
  // A negative timeout or milliseconds::max() waits without limit.
  std::optional<delivery> next(std::chrono::milliseconds timeout);
  // Why the consumer closed (broker cancel, client closed), once next() returned nullopt.
  error closed_reason() const;
  error ack(const delivery& d);  // waits for the broker's answer
  error nack(const delivery& d, bool dead_letter = false, std::string_view reason = {});
  error extend(const delivery& d, std::chrono::milliseconds lease = {});
  error close();
  const std::string& subscription() const;

  struct state;
  explicit blocking_consumer(std::shared_ptr<state> s) : state_(std::move(s)) {}

 private:
  std::shared_ptr<state> state_;
};

// A log-topic reader whose deliveries wait in a local queue (at most its credit of them:
// credit goes back to the broker as next() takes deliveries). Copies share the reader.
// It may outlive its blocking_client; calls then fail with errc::disconnected.
//
// Processed offsets (what commits store) follow next(): taking a delivery marks the one
// taken before it as processed, and commit()/close() mark the last one too. Group
// members: deliveries of revoked partitions still queued are dropped; consume_options'
// on_assigned/on_revoked run on the client's I/O thread (keep them short).
class blocking_log_consumer {
 public:
  // The next record, or nullopt when `timeout` passes first or the reader closed.
  // A negative timeout or milliseconds::max() waits without limit.
  std::optional<delivery> next(std::chrono::milliseconds timeout);
  // Why the reader closed (broker cancel, client closed), once next() returned nullopt.
  error closed_reason() const;
  // Commits the processed offsets (needs a group); waits for the broker's answer.
  error commit();
  error commit(const partition_offsets& offsets);
  // Moves the reader in `partition`; returns the next offset it will deliver there.
  // Queued deliveries of the partition are dropped.
  result<uint64_t> seek(uint32_t partition, const v1::Position& position);
  // Commits (auto_commit with a group) and detaches; returns the commit's error, if any.
  error close();
  // Partitions delivered now; group members: member id and generation ("" and 0 else).
  std::vector<uint32_t> assignment() const;
  std::string member_id() const;
  uint64_t generation() const;

  struct state;
  explicit blocking_log_consumer(std::shared_ptr<state> s) : state_(std::move(s)) {}

 private:
  std::shared_ptr<state> state_;
};

class blocking_client {
 public:
  // Starts the I/O thread and connects. When that first attempt fails, the client is
  // closed (state() == closed) and every call fails with errc::disconnected; connect()
  // returns the error instead. After it connected, it reconnects like the async client.
  explicit blocking_client(client_options opts);
  ~blocking_client();
  blocking_client(const blocking_client&) = delete;
  blocking_client& operator=(const blocking_client&) = delete;

  static result<std::unique_ptr<blocking_client>> connect(client_options opts);

  result<publish_result> publish(const std::string& topic, message m);
  result<batch_result> publish_batch(const std::string& topic, std::vector<message> msgs);
  // Start a publish and return at once, for streaming without a round trip per message.
  // `done` runs on the I/O thread (keep it short; do not call this client from it).
  void publish_async(const std::string& topic, message m,
                     std::function<void(const error&, const publish_result&)> done);
  void publish_batch_async(const std::string& topic, std::vector<message> msgs,
                           std::function<void(const error&, const batch_result&)> done);
  result<reply> request(const std::string& topic, message m, std::chrono::milliseconds timeout);
  result<blocking_consumer> subscribe(subscribe_options opts);
  // Reads a log topic (see consume_options); returns once the reader is attached.
  result<blocking_log_consumer> consume(consume_options opts);

  result<v1::TopicInfo> create_topic(const v1::CreateTopic& req);
  result<v1::DeleteTopicOk> delete_topic(const v1::DeleteTopic& req);
  result<v1::TopicList> list_topics(const v1::ListTopics& req = {});
  result<v1::TopicInfo> describe_topic(const std::string& name);
  result<v1::ScheduledList> list_scheduled(const v1::ListScheduled& req);
  result<v1::CancelScheduledOk> cancel_scheduled(const std::string& topic, const std::string& id);
  result<v1::SubscriptionInfo> create_subscription(const v1::CreateSubscription& req);
  result<v1::DeleteSubscriptionOk> delete_subscription(const v1::DeleteSubscription& req);
  result<v1::SubscriptionList> list_subscriptions(const v1::ListSubscriptions& req = {});
  result<v1::SubscriptionInfo> describe_subscription(const std::string& name);
  // Consumer groups and offsets. commit_offsets is unfenced (consumer_id 0).
  result<v1::CommitOffsetsOk> commit_offsets(const std::string& group, const std::string& topic,
                                             const partition_offsets& offsets);
  result<v1::OffsetList> fetch_offsets(const std::string& group, const std::string& topic);
  result<v1::GroupList> list_groups();
  // The cluster's nodes as the broker sees them (enabled = false: a single broker).
  result<v1::ClusterInfo> describe_cluster();
  result<v1::GroupInfo> describe_group(const std::string& group);
  result<v1::OffsetList> reset_offsets(const v1::ResetOffsets& req);
  result<v1::PurgeSubscriptionOk> purge_subscription(const std::string& name);
  result<v1::SubscriptionInfo> set_subscription_push(const v1::SetSubscriptionPush& req);

  // Users, tokens and access rules (client.h says who may).
  result<v1::UserInfo> create_user(const v1::CreateUser& req);
  result<v1::DeleteUserOk> delete_user(const std::string& name);
  result<v1::UserList> list_users();
  result<v1::UserInfo> set_user_password(const v1::SetUserPassword& req);
  result<v1::UserInfo> set_user_quota(const v1::SetUserQuota& req);
  result<v1::TokenCreated> create_token(const v1::CreateToken& req);
  result<v1::RevokeTokenOk> revoke_token(const std::string& id);
  result<v1::TokenList> list_tokens(const std::string& principal = {});
  result<v1::AddAclOk> add_acl(const v1::AclRule& rule);
  result<v1::RemoveAclOk> remove_acl(const v1::AclRule& rule);
  result<v1::AclList> list_acls(const std::string& principal = {});
  result<v1::WhoAmIOk> who_am_i();

  connection_state state() const;
  void close();

  struct impl;

 private:
  explicit blocking_client(std::unique_ptr<impl> i);
  std::unique_ptr<impl> impl_;
};

}  // namespace ferry::client
