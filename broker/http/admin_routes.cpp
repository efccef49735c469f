// The REST admin API: topics, subscriptions and consumer groups, on the service layer.
// Bodies and answers are the ferry.v1 admin messages as JSON (proto_json.h).
#include <charconv>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/log.pb.h"
#include "ferry/v1/publish.pb.h"

#include "broker/http/http_errors.h"
#include "broker/http/rest.h"
#include "broker/http/routes.h"
#include "broker/security/request_access.h"
#include "broker/services/group_service.h"
#include "broker/services/topic_service.h"

namespace ferry::broker {

namespace {

// ?if_exists=true|false; false (after answering 400) when it is neither.
bool if_exists(const http_request& req, bool& out, const http_reply& done) {
  const std::string* v = req.query_param("if_exists");
  out = v && *v == "true";
  if (!v || *v == "true" || *v == "false") return true;
  done(error_response(errc::invalid_argument, "if_exists: expected true or false"));
  return false;
}

// ?limit=N (decimal); false (after answering 400) when it is not a number.
bool limit(const http_request& req, uint32_t& out, const http_reply& done) {
  const std::string* v = req.query_param("limit");
  out = 0;
  if (v == nullptr) return true;
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), out);
  if (ec == std::errc() && end == v->data() + v->size()) return true;
  done(error_response(errc::invalid_argument, "limit: expected a number"));
  return false;
}

// The group of the path, and the topic of the ResetOffsets body.
route_access group_reset_access() {
  return body_names<v1::ResetOffsets>(
      [](const http_request& req, const v1::ResetOffsets& m, access_targets& t) {
        access::group_offsets(req.params.at(0), operation::alter, m.topic(), operation::consume, t);
      });
}

void add_topic_routes(router& r, topic_service& topics) {
  r.add({"GET",
         "/v1/topics",
         "Lists topics of both kinds (?pattern= a topic pattern).",
         on_request([](const http_request& req, access_targets& t) {
           const std::string* p = req.query_param("pattern");
           access::topic_listing(p ? std::string_view(*p) : std::string_view(), t);
         }),
         [&topics](const http_request& req, http_reply done) {
           v1::TopicList out;
           topics.list_topics(query_or_empty(req, "pattern"), out);
           done(json_response(to_json_text(out)));
         },
         nullptr,
         v1::TopicList::descriptor(),
         {"pattern"},
         200});
  r.add({"POST",
         "/v1/topics",
         "Creates a topic (a CreateTopic body); 201 with its TopicInfo.",
         body_names<v1::CreateTopic>(
             [](const http_request&, const v1::CreateTopic& m, access_targets& t) {
               t.add(resource_kind::topic, m.name(), operation::create);
             }),
         [&topics](const http_request& req, http_reply done) {
           v1::CreateTopic ct;
           if (!parse_body(req, ct, done)) return;
           if (ct.options().temporary()) {
             done(error_response(errc::invalid_argument,
                                 "temporary topics belong to a wire-protocol session; HTTP "
                                 "cannot create them"));
             return;
           }
           topics.create_topic(ct, 0, answer<v1::TopicInfo>(std::move(done), 201));
         },
         v1::CreateTopic::descriptor(),
         v1::TopicInfo::descriptor(),
         {},
         201});
}

void add_topic_item_routes(router& r, topic_service& topics) {
  r.add({"GET",
         "/v1/topics/{name}",
         "Describes a topic (TopicInfo).",
         on_param(resource_kind::topic, operation::describe),
         [&topics](const http_request& req, http_reply done) {
           v1::TopicInfo out;
           answer_now(done, topics.describe_topic(req.params[0], out), out);
         },
         nullptr,
         v1::TopicInfo::descriptor(),
         {},
         200});
  r.add({"DELETE",
         "/v1/topics/{name}",
         "Deletes a topic, its subscriptions' messages and its groups (?if_exists=true).",
         on_param(resource_kind::topic, operation::remove),
         [&topics](const http_request& req, http_reply done) {
           v1::DeleteTopic dt;
           dt.set_name(req.params[0]);
           bool e = false;
           if (!if_exists(req, e, done)) return;
           dt.set_if_exists(e);
           topics.delete_topic(dt, answer<v1::DeleteTopicOk>(std::move(done)));
         },
         nullptr,
         v1::DeleteTopicOk::descriptor(),
         {"if_exists"},
         200});
}

// A topic's delayed messages (PROTOCOL.md 5.7).
void add_scheduled_routes(router& r, topic_service& topics) {
  r.add({"GET",
         "/v1/topics/{name}/scheduled",
         "Lists a topic's delayed messages in due order (ScheduledList: how many wait, the "
         "next due time, a page of ?limit= messages ?after= an id).",
         on_param(resource_kind::topic, operation::describe),
         [&topics](const http_request& req, http_reply done) {
           v1::ListScheduled ls;
           ls.set_topic(req.params[0]);
           ls.set_after(query_or_empty(req, "after"));
           uint32_t n = 0;
           if (!limit(req, n, done)) return;
           ls.set_limit(n);
           topics.list_scheduled(ls, answer<v1::ScheduledList>(std::move(done)));
         },
         nullptr,
         v1::ScheduledList::descriptor(),
         {"after", "limit"},
         200});
  r.add({"DELETE",
         "/v1/topics/{name}/scheduled/{id}",
         "Cancels a delayed message that is not due yet (404 SCHEDULED_NOT_FOUND otherwise).",
         on_param(resource_kind::topic, operation::publish),
         [&topics](const http_request& req, http_reply done) {
           v1::CancelScheduled cs;
           cs.set_topic(req.params[0]);
           cs.set_id(req.params[1]);
           topics.cancel_scheduled(cs, answer<v1::CancelScheduledOk>(std::move(done)));
         },
         nullptr,
         v1::CancelScheduledOk::descriptor(),
         {},
         200});
}

void add_subscription_routes(router& r, topic_service& topics) {
  r.add(
      {"GET",
       "/v1/subscriptions",
       "Lists subscriptions (?pattern= those with this pattern or matching this topic).",
       on_request([](const http_request&, access_targets& t) { access::subscription_listing(t); }),
       [&topics](const http_request& req, http_reply done) {
         v1::SubscriptionList out;
         topics.list_subscriptions(query_or_empty(req, "pattern"), out);
         done(json_response(to_json_text(out)));
       },
       nullptr,
       v1::SubscriptionList::descriptor(),
       {"pattern"},
       200});
  r.add({"POST",
         "/v1/subscriptions",
         "Creates a subscription (a CreateSubscription body); 201 with its SubscriptionInfo.",
         body_names<v1::CreateSubscription>(
             [](const http_request&, const v1::CreateSubscription& m, access_targets& t) {
               t.add(resource_kind::subscription, m.name(), operation::create);
               access::subscription_made(m.pattern(), m.options(), t);
             }),
         [&topics](const http_request& req, http_reply done) {
           v1::CreateSubscription cs;
           if (!parse_body(req, cs, done)) return;
           topics.create_subscription(cs, answer<v1::SubscriptionInfo>(std::move(done), 201));
         },
         v1::CreateSubscription::descriptor(),
         v1::SubscriptionInfo::descriptor(),
         {},
         201});
}

void add_subscription_item_routes(router& r, topic_service& topics) {
  r.add({"GET",
         "/v1/subscriptions/{name}",
         "Describes a subscription (SubscriptionInfo).",
         on_param(resource_kind::subscription, operation::describe),
         [&topics](const http_request& req, http_reply done) {
           v1::SubscriptionInfo out;
           answer_now(done, topics.describe_subscription(req.params[0], out), out);
         },
         nullptr,
         v1::SubscriptionInfo::descriptor(),
         {},
         200});
  r.add({"DELETE",
         "/v1/subscriptions/{name}",
         "Deletes a subscription and its messages (?if_exists=true).",
         on_param(resource_kind::subscription, operation::remove),
         [&topics](const http_request& req, http_reply done) {
           v1::DeleteSubscription ds;
           ds.set_name(req.params[0]);
           bool e = false;
           if (!if_exists(req, e, done)) return;
           ds.set_if_exists(e);
           topics.delete_subscription(ds, answer<v1::DeleteSubscriptionOk>(std::move(done)));
         },
         nullptr,
         v1::DeleteSubscriptionOk::descriptor(),
         {"if_exists"},
         200});
}

void add_purge_route(router& r, topic_service& topics) {
  r.add({"POST",
         "/v1/subscriptions/{name}/purge",
         "Drops the subscription's ready messages (deliveries in flight stay).",
         on_param(resource_kind::subscription, operation::alter),
         [&topics](const http_request& req, http_reply done) {
           v1::PurgeSubscription ps;
           ps.set_name(req.params[0]);
           v1::PurgeSubscriptionOk out;
           answer_now(done, topics.purge_subscription(ps, out), out);
         },
         nullptr,
         v1::PurgeSubscriptionOk::descriptor(),
         {},
         200});
}

// A push subscription's endpoint: PUT sets or changes it, DELETE makes it a pull one.
void add_push_routes(router& r, topic_service& topics) {
  r.add({"PUT",
         "/v1/subscriptions/{name}/push",
         "Sets or changes the subscription's push endpoint (a PushEndpoint body): the broker "
         "POSTs each message to it as a CloudEvent.",
         on_param(resource_kind::subscription, operation::alter),
         [&topics](const http_request& req, http_reply done) {
           v1::SetSubscriptionPush sp;
           if (!parse_body(req, *sp.mutable_push(), done)) return;
           if (sp.push().url().empty()) {
             done(error_response(errc::invalid_argument,
                                 "push: url is empty (DELETE removes the endpoint)"));
             return;
           }
           sp.set_name(req.params[0]);
           topics.set_subscription_push(sp, answer<v1::SubscriptionInfo>(std::move(done)));
         },
         v1::PushEndpoint::descriptor(),
         v1::SubscriptionInfo::descriptor(),
         {},
         200});
  r.add({"DELETE",
         "/v1/subscriptions/{name}/push",
         "Removes the subscription's push endpoint; its messages wait for consumers again.",
         on_param(resource_kind::subscription, operation::alter),
         [&topics](const http_request& req, http_reply done) {
           v1::SetSubscriptionPush sp;
           sp.set_name(req.params[0]);
           topics.set_subscription_push(sp, answer<v1::SubscriptionInfo>(std::move(done)));
         },
         nullptr,
         v1::SubscriptionInfo::descriptor(),
         {},
         200});
}

void add_reset_route(router& r, group_service& groups) {
  r.add({"POST",
         "/v1/groups/{group}/reset-offsets",
         "Moves an empty group's committed offsets to a position (a ResetOffsets body; the "
         "group comes from the path); answers with the offsets committed.",
         group_reset_access(),
         [&groups](const http_request& req, http_reply done) {
           v1::ResetOffsets ro;
           if (!parse_body(req, ro, done)) return;
           if (!ro.group().empty() && ro.group() != req.params[0]) {
             done(error_response(
                 errc::invalid_argument,
                 "the body names group '" + ro.group() + "', the path '" + req.params[0] + "'"));
             return;
           }
           ro.set_group(req.params[0]);
           groups.reset_offsets(ro, answer<v1::OffsetList>(std::move(done)));
         },
         v1::ResetOffsets::descriptor(),
         v1::OffsetList::descriptor(),
         {},
         200});
}

void add_group_routes(router& r, group_service& groups) {
  r.add({"GET",
         "/v1/groups",
         "Lists consumer groups with members and lag (GroupList).",
         on_broker(operation::describe),
         [&groups](const http_request&, http_reply done) {
           v1::GroupList out;
           groups.list_groups(out);
           done(json_response(to_json_text(out)));
         },
         nullptr,
         v1::GroupList::descriptor(),
         {},
         200});
  r.add({"GET",
         "/v1/groups/{group}",
         "Describes a consumer group (GroupInfo).",
         on_param(resource_kind::group, operation::describe),
         [&groups](const http_request& req, http_reply done) {
           v1::DescribeGroup dg;
           dg.set_group(req.params[0]);
           v1::GroupInfo out;
           answer_now(done, groups.describe_group(dg, out), out);
         },
         nullptr,
         v1::GroupInfo::descriptor(),
         {},
         200});
}

}  // namespace

void add_admin_routes(router& r, topic_service& topics, group_service& groups) {
  add_topic_routes(r, topics);
  add_topic_item_routes(r, topics);
  add_scheduled_routes(r, topics);
  add_subscription_routes(r, topics);
  add_subscription_item_routes(r, topics);
  add_purge_route(r, topics);
  add_push_routes(r, topics);
  add_group_routes(r, groups);
  add_reset_route(r, groups);
}

}  // namespace ferry::broker
