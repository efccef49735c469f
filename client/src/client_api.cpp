// The public client and consumer (ferry/client/client.h): thin forwarding to client_impl.
#include <algorithm>

#include "client/src/client_impl.h"
#include "ferry/client/client.h"

namespace ferry::client {

using detail::make_error;

namespace {

// The response kind of each management request.
codec::body response_kind(codec::body request) {
  switch (request) {
    case codec::body::create_topic: return codec::body::topic_info;
    case codec::body::describe_topic: return codec::body::topic_info;
    case codec::body::list_scheduled: return codec::body::scheduled_list;
    case codec::body::cancel_scheduled: return codec::body::cancel_scheduled_ok;
    case codec::body::delete_topic: return codec::body::delete_topic_ok;
    case codec::body::list_topics: return codec::body::topic_list;
    case codec::body::create_subscription: return codec::body::subscription_info;
    case codec::body::describe_subscription: return codec::body::subscription_info;
    case codec::body::purge_subscription: return codec::body::purge_subscription_ok;
    case codec::body::set_subscription_push: return codec::body::subscription_info;
    case codec::body::reset_offsets: return codec::body::offset_list;
    case codec::body::delete_subscription: return codec::body::delete_subscription_ok;
    case codec::body::list_subscriptions: return codec::body::subscription_list;
    case codec::body::commit_offsets: return codec::body::commit_offsets_ok;
    case codec::body::fetch_offsets: return codec::body::offset_list;
    case codec::body::list_groups: return codec::body::group_list;
    case codec::body::describe_group: return codec::body::group_info;
    case codec::body::create_user: return codec::body::user_info;
    case codec::body::set_user_password: return codec::body::user_info;
    case codec::body::set_user_quota: return codec::body::user_info;
    case codec::body::delete_user: return codec::body::delete_user_ok;
    case codec::body::list_users: return codec::body::user_list;
    case codec::body::create_token: return codec::body::token_created;
    case codec::body::revoke_token: return codec::body::revoke_token_ok;
    case codec::body::list_tokens: return codec::body::token_list;
    case codec::body::add_acl: return codec::body::add_acl_ok;
    case codec::body::remove_acl: return codec::body::remove_acl_ok;
    case codec::body::list_acls: return codec::body::acl_list;
    case codec::body::who_am_i: return codec::body::who_am_i_ok;
    case codec::body::describe_cluster: return codec::body::cluster_info;
    default: return codec::body::none;
  }
}

void settle(const std::shared_ptr<detail::consumer_state>& s, detail::settle_kind kind,
            const delivery& d, bool dead_letter, std::string_view reason, uint32_t extend_ms) {
  if (!s) return;
  auto c = s->client.lock();
  if (!c) {
    detail::report_settle_error(*s, d.delivery_id(),
                                make_error(errc::disconnected, "client destroyed"));
    return;
  }
  c->subs().settle(s, kind, d.connection_epoch(), d.consumer_id(), d.delivery_id(), dead_letter,
                   reason, extend_ms, {});
}

// A consumer whose client is gone, or a default-constructed one (then there is no
// executor of ours to complete on).
void fail_without_client(const std::shared_ptr<detail::consumer_state>& s, void_handler h,
                         const error& e) {
  if (s)
    detail::complete_later(s->ex, std::move(h), e);
  else
    boost::asio::post(boost::asio::system_executor(), boost::asio::append(std::move(h), e));
}

}  // namespace

const char* to_string(connection_state s) {
  switch (s) {
    case connection_state::connecting: return "connecting";
    case connection_state::connected: return "connected";
    case connection_state::disconnected: return "disconnected";
    case connection_state::closed: return "closed";
  }
  return "unknown";
}

// ---- consumer ----

const std::string& consumer::subscription() const {
  static const std::string none;
  return state_ ? state_->subscription : none;
}

bool consumer::closed() const {
  return !state_ || state_->closed;
}

void consumer::ack(const delivery& d) {
  settle(state_, detail::settle_kind::ack, d, false, {}, 0);
}

void consumer::nack(const delivery& d, bool dead_letter, std::string_view reason) {
  settle(state_, detail::settle_kind::nack, d, dead_letter, reason, 0);
}

uint32_t consumer::lease_ms(std::chrono::milliseconds lease) {
  return static_cast<uint32_t>(std::clamp<int64_t>(lease.count(), 0, UINT32_MAX));
}

void consumer::extend(const delivery& d, std::chrono::milliseconds lease) {
  settle(state_, detail::settle_kind::extend, d, false, {}, lease_ms(lease));
}

void consumer::on_settle_error(std::function<void(uint64_t, const error&)> fn) {
  if (state_) state_->on_settle_error = std::move(fn);
}

void consumer::initiate_settle(const std::shared_ptr<detail::consumer_state>& s,
                               detail::settle_kind kind, uint64_t epoch, uint64_t consumer_id,
                               uint64_t delivery_id, bool dead_letter, std::string reason,
                               uint32_t extend_ms, void_handler h) {
  auto c = s ? s->client.lock() : nullptr;
  if (!c) {
    fail_without_client(s, std::move(h), make_error(errc::disconnected, "no client"));
    return;
  }
  c->subs().settle(s, kind, epoch, consumer_id, delivery_id, dead_letter, reason, extend_ms,
                   std::move(h));
}

void consumer::initiate_close(const std::shared_ptr<detail::consumer_state>& s, void_handler h) {
  auto c = s ? s->client.lock() : nullptr;
  if (!c) {
    fail_without_client(s, std::move(h), error{});
    return;
  }
  c->subs().close(s, std::move(h));
}

// ---- log_consumer ----

bool log_consumer::closed() const {
  return !state_ || state_->closed;
}

const std::string& log_consumer::topic() const {
  static const std::string none;
  return state_ ? state_->opts.topic : none;
}

const std::string& log_consumer::member_id() const {
  static const std::string none;
  return state_ ? state_->member_id : none;
}

uint64_t log_consumer::generation() const {
  return state_ ? state_->generation : 0;
}

std::vector<uint32_t> log_consumer::assignment() const {
  std::vector<uint32_t> out;
  if (state_)
    for (const auto& [p, st] : state_->parts)
      if (!st.revoked) out.push_back(p);
  return out;
}

partition_offsets log_consumer::positions() const {
  partition_offsets out;
  if (state_)
    for (const auto& [p, st] : state_->parts)
      if (!st.revoked) out.emplace_back(p, st.processed);
  return out;
}

void log_consumer::initiate_commit(const std::shared_ptr<detail::log_consumer_state>& s,
                                   std::optional<partition_offsets> offsets, void_handler h) {
  auto c = s ? s->client.lock() : nullptr;
  if (!c) {
    detail::complete_later(s ? s->ex : boost::asio::any_io_executor(boost::asio::system_executor()),
                           std::move(h), make_error(errc::disconnected, "no client"));
    return;
  }
  c->logs().commit(s, std::move(offsets), std::move(h));
}

void log_consumer::initiate_seek(const std::shared_ptr<detail::log_consumer_state>& s,
                                 uint32_t partition, v1::Position position, handler<uint64_t> h) {
  auto c = s ? s->client.lock() : nullptr;
  if (!c) {
    detail::complete_later(s ? s->ex : boost::asio::any_io_executor(boost::asio::system_executor()),
                           std::move(h), make_error(errc::disconnected, "no client"), uint64_t{0});
    return;
  }
  c->logs().seek(s, partition, position, std::move(h));
}

void log_consumer::initiate_close(const std::shared_ptr<detail::log_consumer_state>& s,
                                  void_handler h) {
  auto c = s ? s->client.lock() : nullptr;
  if (!c) {
    detail::complete_later(s ? s->ex : boost::asio::any_io_executor(boost::asio::system_executor()),
                           std::move(h), error{});
    return;
  }
  c->logs().close(s, std::move(h));
}

// ---- client ----

client::client(boost::asio::any_io_executor ex, client_options opts)
    : impl_(std::make_shared<detail::client_impl>(std::move(ex), std::move(opts))) {}

client::~client() {
  impl_->close();
}

boost::asio::any_io_executor client::get_executor() const {
  return impl_->executor();
}

connection_state client::state() const {
  return impl_->state();
}

void client::close() {
  impl_->close();
}

void client::initiate_connect(const impl_ptr& impl, void_handler h) {
  impl->connect(std::move(h));
}

void client::initiate_publish(const impl_ptr& impl, std::string topic, message m,
                              handler<publish_result> h) {
  impl->pub().publish(std::move(topic), std::move(m), std::move(h));
}

void client::initiate_publish_batch(const impl_ptr& impl, std::string topic, std::vector<message> m,
                                    handler<batch_result> h) {
  impl->pub().publish_batch(std::move(topic), std::move(m), std::move(h));
}

void client::initiate_request(const impl_ptr& impl, std::string topic, message m,
                              std::chrono::milliseconds timeout, handler<reply> h) {
  impl->req().request(std::move(topic), std::move(m), timeout, std::move(h));
}

void client::initiate_subscribe(const impl_ptr& impl, subscribe_options o, delivery_handler d,
                                handler<consumer> h) {
  auto s = std::make_shared<detail::consumer_state>(impl->executor(), impl);
  s->opts = std::move(o);
  s->on_delivery = std::move(d);
  impl->subs().subscribe(std::move(s), std::move(h));
}

void client::initiate_consume(const impl_ptr& impl, consume_options o, delivery_handler d,
                              handler<log_consumer> h) {
  auto s = std::make_shared<detail::log_consumer_state>(impl->executor(), impl);
  s->opts = std::move(o);
  s->on_delivery = std::move(d);
  impl->logs().consume(std::move(s), std::move(h));
}

void client::initiate_admin(const impl_ptr& impl, codec::body kind,
                            std::shared_ptr<const google::protobuf::MessageLite> req,
                            std::shared_ptr<google::protobuf::MessageLite> resp,
                            boost::asio::any_completion_handler<void(error)> h) {
  codec::body expect = response_kind(kind);
  if (expect == codec::body::none) {
    detail::complete_later(impl->executor(), std::move(h),
                           make_error(errc::invalid_argument, "not a management request"));
    return;
  }
  impl->send_request(kind, std::move(req), expect, std::move(resp), std::move(h));
}

}  // namespace ferry::client
