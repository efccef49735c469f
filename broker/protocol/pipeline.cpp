#include "broker/protocol/pipeline.h"

#include <string>

#include "broker/protocol/handlers.h"
#include "broker/security/request_access.h"

namespace ferry::broker {
namespace {

using codec::body;
using route = pipeline::route;

// ---- how a row parses and handles its request ----

using targets = pipeline::targets;

// A request with a generated class M; `Targets` says what it is authorized for.
template <typename M, void (*Handle)(request_context&, const M&, responder),
          void (*Targets)(const M&, const route&, targets&)>
void invoke(pipeline& p, request_context& ctx, const route& rt, std::string_view bytes,
            responder r) {
  M req;
  if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return r.fail(errc::malformed_frame,
                  std::string(req.GetTypeName()) + " body is not a valid message");
  targets t;
  Targets(req, rt, t);
  if (auto err = p.authorize(ctx, t)) return r.error(err);
  Handle(ctx, req, std::move(r));
}

// Publish is parsed by hand (views into the frame, no copy): codec::parse_publish.
void invoke_publish(pipeline& p, request_context& ctx, const route& rt, std::string_view bytes,
                    responder r) {
  codec::publish_view head;
  auto& messages = p.publish_scratch();
  if (codec::parse_publish(bytes, head, messages) != errc::ok)
    return r.fail(errc::malformed_frame, "Publish is not a valid ferry.v1.Publish");
  targets t;
  t.add(rt.resource, head.topic, rt.op);
  if (auto err = p.authorize(ctx, t)) return r.error(err);
  // Over the principal's publish rate: served, then its connection is not read for a while.
  if (int64_t ms =
          ctx.limits.publish(ctx.client.who(), bytes.size(), messages.size(), p.clock().now()))
    ctx.client.conn().throttle_for(std::chrono::milliseconds(ms));
  if (ctx.client.must_defer_publish()) return ctx.client.defer_publish(r.correlation_id(), bytes);
  handlers::publish(ctx, bytes, head, messages, std::move(r));
}

// ---- what a row is authorized for ----

// The row's resource and operation, on no name (the broker, or this session's consumer).
template <typename M>
void unnamed(const M&, const route& rt, targets& t) {
  t.add(rt.resource, {}, rt.op);
}
// The row's resource and operation, on the name a field of the request holds.
template <typename M, const std::string& (M::*Field)() const>
void named(const M& m, const route& rt, targets& t) {
  t.add(rt.resource, (m.*Field)(), rt.op);
}
void list_topics_targets(const v1::ListTopics& m, const route&, targets& t) {
  access::topic_listing(m.pattern(), t);
}
void list_subscriptions_targets(const v1::ListSubscriptions&, const route&, targets& t) {
  access::subscription_listing(t);
}
void subscribe_targets(const v1::Subscribe& m, const route&, targets& t) {
  access::subscribe(m, t);
}
void create_subscription_targets(const v1::CreateSubscription& m, const route& rt, targets& t) {
  t.add(rt.resource, m.name(), rt.op);
  access::subscription_made(m.pattern(), m.options(), t);
}
void consume_log_targets(const v1::ConsumeLog& m, const route&, targets& t) {
  access::consume_log(m, t);
}
// A group's offsets of a topic: the row's operation on the group, `TopicOp` on the topic.
template <typename M, operation TopicOp>
void group_offsets(const M& m, const route& rt, targets& t) {
  access::group_offsets(m.group(), rt.op, m.topic(), TopicOp, t);
}
void create_token_targets(const v1::CreateToken& m, const route& rt, targets& t) {
  t.add(rt.resource, m.principal(), rt.op);
}

using R = resource_kind;
using O = operation;

// ---- the table ----

template <typename M, void (*H)(request_context&, const M&, responder),
          void (*T)(const M&, const route&, targets&) = unnamed<M>>
constexpr route row(body kind, std::string_view name, R res, O op, bool answered = true) {
  return route{kind, name, res, op, answered, &invoke<M, H, T>};
}

#define FERRY_FIELD(M, f) named<M, &M::f>

const route routes[] = {
    // Session: authenticated by the handshake itself, nothing more to authorize.
    row<v1::Hello, handlers::hello>(body::hello, "Hello", R::broker, O::connect),
    row<v1::AuthResponse, handlers::auth_response>(body::auth_response, "AuthResponse", R::broker,
                                                   O::connect),
    row<v1::Ping, handlers::ping>(body::ping, "Ping", R::broker, O::connect),
    row<v1::Pong, handlers::pong>(body::pong, "Pong", R::broker, O::connect),
    row<v1::WhoAmI, handlers::who_am_i>(body::who_am_i, "WhoAmI", R::broker, O::connect),
    // Publishing and consuming: settling names a consumer of this session, which was
    // authorized when it was opened.
    {body::publish, "Publish", R::topic, O::publish, true, &invoke_publish},
    row<v1::Subscribe, handlers::subscribe, subscribe_targets>(body::subscribe, "Subscribe",
                                                               R::subscription, O::consume),
    row<v1::Unsubscribe, handlers::unsubscribe>(body::unsubscribe, "Unsubscribe", R::consumer,
                                                O::consume),
    row<v1::Credit, handlers::credit>(body::credit, "Credit", R::consumer, O::consume, false),
    row<v1::Ack, handlers::ack>(body::ack, "Ack", R::consumer, O::consume),
    row<v1::Nack, handlers::nack>(body::nack, "Nack", R::consumer, O::consume),
    row<v1::ExtendLease, handlers::extend_lease>(body::extend_lease, "ExtendLease", R::consumer,
                                                 O::consume),
    // Topics and subscriptions.
    row<v1::CreateTopic, handlers::create_topic, FERRY_FIELD(v1::CreateTopic, name)>(
        body::create_topic, "CreateTopic", R::topic, O::create),
    row<v1::DeleteTopic, handlers::delete_topic, FERRY_FIELD(v1::DeleteTopic, name)>(
        body::delete_topic, "DeleteTopic", R::topic, O::remove),
    row<v1::ListTopics, handlers::list_topics, list_topics_targets>(body::list_topics, "ListTopics",
                                                                    R::topic, O::describe),
    row<v1::DescribeTopic, handlers::describe_topic, FERRY_FIELD(v1::DescribeTopic, name)>(
        body::describe_topic, "DescribeTopic", R::topic, O::describe),
    row<v1::ListScheduled, handlers::list_scheduled, FERRY_FIELD(v1::ListScheduled, topic)>(
        body::list_scheduled, "ListScheduled", R::topic, O::describe),
    row<v1::CancelScheduled, handlers::cancel_scheduled, FERRY_FIELD(v1::CancelScheduled, topic)>(
        body::cancel_scheduled, "CancelScheduled", R::topic, O::publish),
    row<v1::CreateSubscription, handlers::create_subscription, create_subscription_targets>(
        body::create_subscription, "CreateSubscription", R::subscription, O::create),
    row<v1::DeleteSubscription, handlers::delete_subscription,
        FERRY_FIELD(v1::DeleteSubscription, name)>(body::delete_subscription, "DeleteSubscription",
                                                   R::subscription, O::remove),
    row<v1::ListSubscriptions, handlers::list_subscriptions, list_subscriptions_targets>(
        body::list_subscriptions, "ListSubscriptions", R::subscription, O::describe),
    row<v1::DescribeSubscription, handlers::describe_subscription,
        FERRY_FIELD(v1::DescribeSubscription, name)>(
        body::describe_subscription, "DescribeSubscription", R::subscription, O::describe),
    row<v1::PurgeSubscription, handlers::purge_subscription,
        FERRY_FIELD(v1::PurgeSubscription, name)>(body::purge_subscription, "PurgeSubscription",
                                                  R::subscription, O::alter),
    row<v1::SetSubscriptionPush, handlers::set_subscription_push,
        FERRY_FIELD(v1::SetSubscriptionPush, name)>(
        body::set_subscription_push, "SetSubscriptionPush", R::subscription, O::alter),
    // Log topics and consumer groups.
    row<v1::ConsumeLog, handlers::consume_log, consume_log_targets>(body::consume_log, "ConsumeLog",
                                                                    R::topic, O::consume),
    row<v1::Seek, handlers::seek>(body::seek, "Seek", R::consumer, O::consume),
    row<v1::RevokeDone, handlers::revoke_done>(body::revoke_done, "RevokeDone", R::consumer,
                                               O::consume, false),
    row<v1::CommitOffsets, handlers::commit_offsets, group_offsets<v1::CommitOffsets, O::consume>>(
        body::commit_offsets, "CommitOffsets", R::group, O::consume),
    row<v1::FetchOffsets, handlers::fetch_offsets, group_offsets<v1::FetchOffsets, O::describe>>(
        body::fetch_offsets, "FetchOffsets", R::group, O::describe),
    row<v1::ResetOffsets, handlers::reset_offsets, group_offsets<v1::ResetOffsets, O::consume>>(
        body::reset_offsets, "ResetOffsets", R::group, O::alter),
    row<v1::ListGroups, handlers::list_groups>(body::list_groups, "ListGroups", R::broker,
                                               O::describe),
    row<v1::DescribeCluster, handlers::describe_cluster>(body::describe_cluster, "DescribeCluster",
                                                         R::broker, O::describe),
    row<v1::DescribeGroup, handlers::describe_group, FERRY_FIELD(v1::DescribeGroup, group)>(
        body::describe_group, "DescribeGroup", R::group, O::describe),
    // Security: the broker's ADMIN, except a user's own password and tokens.
    row<v1::CreateUser, handlers::create_user>(body::create_user, "CreateUser", R::broker,
                                               O::admin),
    row<v1::DeleteUser, handlers::delete_user>(body::delete_user, "DeleteUser", R::broker,
                                               O::admin),
    row<v1::ListUsers, handlers::list_users>(body::list_users, "ListUsers", R::broker, O::admin),
    row<v1::SetUserPassword, handlers::set_user_password, FERRY_FIELD(v1::SetUserPassword, name)>(
        body::set_user_password, "SetUserPassword", R::user, O::alter),
    row<v1::SetUserQuota, handlers::set_user_quota>(body::set_user_quota, "SetUserQuota", R::broker,
                                                    O::admin),
    row<v1::CreateToken, handlers::create_token, create_token_targets>(
        body::create_token, "CreateToken", R::user, O::alter),
    row<v1::RevokeToken, handlers::revoke_token>(body::revoke_token, "RevokeToken", R::broker,
                                                 O::admin),
    row<v1::ListTokens, handlers::list_tokens>(body::list_tokens, "ListTokens", R::broker,
                                               O::admin),
    row<v1::AddAcl, handlers::add_acl>(body::add_acl, "AddAcl", R::broker, O::admin),
    row<v1::RemoveAcl, handlers::remove_acl>(body::remove_acl, "RemoveAcl", R::broker, O::admin),
    row<v1::ListAcls, handlers::list_acls>(body::list_acls, "ListAcls", R::broker, O::admin),
};

#undef FERRY_FIELD

}  // namespace

pipeline::pipeline(loop_clock& clock, broker_services& services, security_service& security,
                   quotas& limits, broker_info info, authenticator& authn, authorizer& authz)
    : clock_(clock),
      services_(services),
      security_(security),
      quotas_(limits),
      info_(std::move(info)),
      authn_(authn),
      authz_(authz) {
  for (const auto& rt : routes)
    routes_[static_cast<size_t>(rt.kind)] = &rt;
}

void pipeline::on_request(session& s, const codec::frame_view& f) {
  clock_.stamp();
  const auto number = static_cast<size_t>(f.kind);
  const route* rt = number < max_body ? routes_[number] : nullptr;
  if (!s.handshaken() && f.kind != body::hello &&
      !(f.kind == body::auth_response && s.authenticating()))
    return s.fail(f.correlation_id, errc::not_handshaken, "the first frame must be Hello");
  if ((s.handshaken() || s.authenticating()) && f.kind == body::hello)
    return s.fail(f.correlation_id, errc::not_handshaken, "Hello was already sent");
  if (rt == nullptr)
    return s.respond_error(
        f.correlation_id, errc::unknown_request,
        "frame body " + std::to_string(number) + " is not a request this broker knows");
  ++counts_[number];
  request_context ctx{s, services_, security_, quotas_, info_, authn_};
  rt->invoke(*this, ctx, *rt, f.bytes, responder(s, rt->answered ? f.correlation_id : 0));
}

void pipeline::on_deferred_publish(session& s, uint64_t correlation_id, std::string_view bytes) {
  codec::publish_view head;
  // It parsed when it arrived; it is a copy of the same bytes.
  (void)codec::parse_publish(bytes, head, publish_scratch_);
  request_context ctx{s, services_, security_, quotas_, info_, authn_};
  handlers::publish(ctx, bytes, head, publish_scratch_, responder(s, correlation_id));
}

uint64_t pipeline::requests(codec::body kind) const {
  auto n = static_cast<size_t>(kind);
  return n < max_body ? counts_[n] : 0;
}

std::span<const pipeline::route> pipeline::table() {
  return routes;
}

ferry::error pipeline::authorize(const request_context& ctx, const targets& t) {
  return authorize_all(authz_, ctx.client.who(), t);
}

}  // namespace ferry::broker
