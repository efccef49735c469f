#include "broker/protocol/pipeline.h"

#include <string>

#include "broker/protocol/handlers.h"

namespace ferry::broker {
namespace {

using codec::body;
using route = pipeline::route;

// ---- how a row parses and handles its request ----

// A request with a generated class M; `name_of` says which resource it names.
template <typename M, void (*Handle)(request_context&, const M&, responder),
          std::string_view (*NameOf)(const M&)>
void invoke(pipeline& p, request_context& ctx, const route& rt, std::string_view bytes,
            responder r) {
  M req;
  if (!req.ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return r.fail(errc::malformed_frame,
                  std::string(req.GetTypeName()) + " body is not a valid message");
  if (auto err = p.authorize(ctx, rt, NameOf(req))) return r.error(err);
  Handle(ctx, req, std::move(r));
}

// Publish is parsed by hand (views into the frame, no copy): codec::parse_publish.
void invoke_publish(pipeline& p, request_context& ctx, const route& rt, std::string_view bytes,
                    responder r) {
  codec::publish_view head;
  auto& messages = p.publish_scratch();
  if (codec::parse_publish(bytes, head, messages) != errc::ok)
    return r.fail(errc::malformed_frame, "Publish is not a valid ferry.v1.Publish");
  if (auto err = p.authorize(ctx, rt, head.topic)) return r.error(err);
  if (ctx.client.must_defer_publish()) return ctx.client.defer_publish(r.correlation_id(), bytes);
  handlers::publish(ctx, bytes, head, messages, std::move(r));
}

template <typename M>
std::string_view no_name(const M&) {
  return {};
}
template <typename M>
std::string_view by_name(const M& m) {
  return m.name();
}
template <typename M>
std::string_view by_topic(const M& m) {
  return m.topic();
}
template <typename M>
std::string_view by_group(const M& m) {
  return m.group();
}
std::string_view subscribe_name(const v1::Subscribe& m) {
  return m.subscription().empty() ? m.pattern() : m.subscription();
}
template <typename M>
std::string_view by_pattern(const M& m) {
  return m.pattern();
}

using R = resource_kind;
using O = operation;

// ---- the table ----

template <typename M, void (*H)(request_context&, const M&, responder),
          std::string_view (*N)(const M&) = no_name<M>>
constexpr route row(body kind, std::string_view name, R res, O op, bool answered = true) {
  return route{kind, name, res, op, answered, &invoke<M, H, N>};
}

const route routes[] = {
    row<v1::Hello, handlers::hello>(body::hello, "Hello", R::broker, O::connect),
    row<v1::Ping, handlers::ping>(body::ping, "Ping", R::broker, O::describe),
    row<v1::Pong, handlers::pong>(body::pong, "Pong", R::broker, O::describe),
    {body::publish, "Publish", R::topic, O::publish, true, &invoke_publish},
    row<v1::Subscribe, handlers::subscribe, subscribe_name>(body::subscribe, "Subscribe",
                                                            R::subscription, O::consume),
    row<v1::Unsubscribe, handlers::unsubscribe>(body::unsubscribe, "Unsubscribe", R::subscription,
                                                O::consume),
    row<v1::Credit, handlers::credit>(body::credit, "Credit", R::subscription, O::consume, false),
    row<v1::Ack, handlers::ack>(body::ack, "Ack", R::subscription, O::consume),
    row<v1::Nack, handlers::nack>(body::nack, "Nack", R::subscription, O::consume),
    row<v1::ExtendLease, handlers::extend_lease>(body::extend_lease, "ExtendLease", R::subscription,
                                                 O::consume),
    row<v1::CreateTopic, handlers::create_topic, by_name>(body::create_topic, "CreateTopic",
                                                          R::topic, O::create),
    row<v1::DeleteTopic, handlers::delete_topic, by_name>(body::delete_topic, "DeleteTopic",
                                                          R::topic, O::remove),
    row<v1::ListTopics, handlers::list_topics, by_pattern>(body::list_topics, "ListTopics",
                                                           R::topic, O::describe),
    row<v1::DescribeTopic, handlers::describe_topic, by_name>(body::describe_topic, "DescribeTopic",
                                                              R::topic, O::describe),
    row<v1::CreateSubscription, handlers::create_subscription, by_name>(
        body::create_subscription, "CreateSubscription", R::subscription, O::create),
    row<v1::DeleteSubscription, handlers::delete_subscription, by_name>(
        body::delete_subscription, "DeleteSubscription", R::subscription, O::remove),
    row<v1::ListSubscriptions, handlers::list_subscriptions, by_pattern>(
        body::list_subscriptions, "ListSubscriptions", R::subscription, O::describe),
    row<v1::DescribeSubscription, handlers::describe_subscription, by_name>(
        body::describe_subscription, "DescribeSubscription", R::subscription, O::describe),
    row<v1::PurgeSubscription, handlers::purge_subscription, by_name>(
        body::purge_subscription, "PurgeSubscription", R::subscription, O::alter),
    row<v1::ConsumeLog, handlers::consume_log, by_topic>(body::consume_log, "ConsumeLog", R::topic,
                                                         O::consume),
    row<v1::Seek, handlers::seek>(body::seek, "Seek", R::topic, O::consume),
    row<v1::RevokeDone, handlers::revoke_done>(body::revoke_done, "RevokeDone", R::group,
                                               O::consume, false),
    row<v1::CommitOffsets, handlers::commit_offsets, by_group>(
        body::commit_offsets, "CommitOffsets", R::group, O::commit),
    row<v1::FetchOffsets, handlers::fetch_offsets, by_group>(body::fetch_offsets, "FetchOffsets",
                                                             R::group, O::describe),
    row<v1::ResetOffsets, handlers::reset_offsets, by_group>(body::reset_offsets, "ResetOffsets",
                                                             R::group, O::alter),
    row<v1::ListGroups, handlers::list_groups>(body::list_groups, "ListGroups", R::group,
                                               O::describe),
    row<v1::DescribeGroup, handlers::describe_group, by_group>(
        body::describe_group, "DescribeGroup", R::group, O::describe),
};

}  // namespace

pipeline::pipeline(loop_clock& clock, broker_services& services, broker_info info,
                   authenticator& authn, authorizer& authz)
    : clock_(clock), services_(services), info_(std::move(info)), authn_(authn), authz_(authz) {
  for (const auto& rt : routes)
    routes_[static_cast<size_t>(rt.kind)] = &rt;
}

void pipeline::on_request(session& s, const codec::frame_view& f) {
  clock_.stamp();
  const auto number = static_cast<size_t>(f.kind);
  const route* rt = number < max_body ? routes_[number] : nullptr;
  if (!s.handshaken() && f.kind != body::hello)
    return s.fail(f.correlation_id, errc::not_handshaken, "the first frame must be Hello");
  if (s.handshaken() && f.kind == body::hello)
    return s.fail(f.correlation_id, errc::not_handshaken, "Hello was already sent");
  if (rt == nullptr)
    return s.respond_error(
        f.correlation_id, errc::unknown_request,
        "frame body " + std::to_string(number) + " is not a request this broker knows");
  ++counts_[number];
  request_context ctx{s, services_, info_, authn_};
  rt->invoke(*this, ctx, *rt, f.bytes, responder(s, rt->answered ? f.correlation_id : 0));
}

void pipeline::on_deferred_publish(session& s, uint64_t correlation_id, std::string_view bytes) {
  codec::publish_view head;
  // It parsed when it arrived; it is a copy of the same bytes.
  (void)codec::parse_publish(bytes, head, publish_scratch_);
  request_context ctx{s, services_, info_, authn_};
  handlers::publish(ctx, bytes, head, publish_scratch_, responder(s, correlation_id));
}

uint64_t pipeline::requests(codec::body kind) const {
  auto n = static_cast<size_t>(kind);
  return n < max_body ? counts_[n] : 0;
}

ferry::error pipeline::authorize(const request_context& ctx, const route& rt,
                                 std::string_view resource_name) {
  return authz_.authorize(ctx.client.who(), rt.resource, resource_name, rt.op);
}

}  // namespace ferry::broker
