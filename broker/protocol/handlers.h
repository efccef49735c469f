// The binary protocol's request handlers: one function per request, each turning the
// decoded request into a service call (services/) and the service's result into the
// response. The pipeline has parsed and authorized the request already; a handler
// answers through its responder exactly once, or never for requests without a response
// (Credit, RevokeDone, Pong).
#pragma once

#include <string_view>
#include <vector>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/consume.pb.h"
#include "ferry/v1/log.pb.h"
#include "ferry/v1/publish.pb.h"
#include "ferry/v1/security.pb.h"
#include "ferry/v1/session.pb.h"

#include "broker/protocol/request_context.h"

namespace ferry::broker::handlers {

// session_handlers.cpp
void hello(request_context& ctx, const v1::Hello& req, responder r);
void auth_response(request_context& ctx, const v1::AuthResponse& req, responder r);
void who_am_i(request_context& ctx, const v1::WhoAmI& req, responder r);
void ping(request_context& ctx, const v1::Ping& req, responder r);
void pong(request_context& ctx, const v1::Pong& req, responder r);

// publish_handler.cpp: `body` is the whole Publish body, `head` and `messages` views of it.
void publish(request_context& ctx, std::string_view body, codec::publish_view& head,
             std::vector<std::string_view>& messages, responder r);

// consume_handlers.cpp
void subscribe(request_context& ctx, const v1::Subscribe& req, responder r);
void unsubscribe(request_context& ctx, const v1::Unsubscribe& req, responder r);
void credit(request_context& ctx, const v1::Credit& req, responder r);
void ack(request_context& ctx, const v1::Ack& req, responder r);
void nack(request_context& ctx, const v1::Nack& req, responder r);
void extend_lease(request_context& ctx, const v1::ExtendLease& req, responder r);

// admin_handlers.cpp
void create_topic(request_context& ctx, const v1::CreateTopic& req, responder r);
void delete_topic(request_context& ctx, const v1::DeleteTopic& req, responder r);
void list_topics(request_context& ctx, const v1::ListTopics& req, responder r);
void describe_cluster(request_context& ctx, const v1::DescribeCluster& req, responder r);
void describe_topic(request_context& ctx, const v1::DescribeTopic& req, responder r);
void list_scheduled(request_context& ctx, const v1::ListScheduled& req, responder r);
void cancel_scheduled(request_context& ctx, const v1::CancelScheduled& req, responder r);
void create_subscription(request_context& ctx, const v1::CreateSubscription& req, responder r);
void delete_subscription(request_context& ctx, const v1::DeleteSubscription& req, responder r);
void list_subscriptions(request_context& ctx, const v1::ListSubscriptions& req, responder r);
void describe_subscription(request_context& ctx, const v1::DescribeSubscription& req, responder r);
void purge_subscription(request_context& ctx, const v1::PurgeSubscription& req, responder r);
void set_subscription_push(request_context& ctx, const v1::SetSubscriptionPush& req, responder r);

// log_handlers.cpp
void consume_log(request_context& ctx, const v1::ConsumeLog& req, responder r);
void seek(request_context& ctx, const v1::Seek& req, responder r);

// group_handlers.cpp
void revoke_done(request_context& ctx, const v1::RevokeDone& req, responder r);
void commit_offsets(request_context& ctx, const v1::CommitOffsets& req, responder r);
void fetch_offsets(request_context& ctx, const v1::FetchOffsets& req, responder r);
void reset_offsets(request_context& ctx, const v1::ResetOffsets& req, responder r);
void list_groups(request_context& ctx, const v1::ListGroups& req, responder r);
void describe_group(request_context& ctx, const v1::DescribeGroup& req, responder r);

// security_handlers.cpp
void create_user(request_context& ctx, const v1::CreateUser& req, responder r);
void delete_user(request_context& ctx, const v1::DeleteUser& req, responder r);
void list_users(request_context& ctx, const v1::ListUsers& req, responder r);
void set_user_password(request_context& ctx, const v1::SetUserPassword& req, responder r);
void set_user_quota(request_context& ctx, const v1::SetUserQuota& req, responder r);
void create_token(request_context& ctx, const v1::CreateToken& req, responder r);
void revoke_token(request_context& ctx, const v1::RevokeToken& req, responder r);
void list_tokens(request_context& ctx, const v1::ListTokens& req, responder r);
void add_acl(request_context& ctx, const v1::AddAcl& req, responder r);
void remove_acl(request_context& ctx, const v1::RemoveAcl& req, responder r);
void list_acls(request_context& ctx, const v1::ListAcls& req, responder r);

}  // namespace ferry::broker::handlers
