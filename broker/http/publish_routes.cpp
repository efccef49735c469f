// Publishing over HTTP: POST /v1/topics/{name}/messages. The request is read whole into
// messages first (publish_input.h), so a bad one publishes nothing; then retries are
// recognised (idempotency.h), the messages are encoded as a Publish frame's would be and
// go to the same publish service as the binary protocol's, and the answer is its confirm:
// after the fsync for a log topic with fsync: always, as PublishOk does.
#include <algorithm>
#include <memory>
#include <unordered_map>

#include "ferry/v1/publish.pb.h"

#include "broker/core/clock.h"
#include "broker/http/http_errors.h"
#include "broker/http/idempotency.h"
#include "broker/http/proto_json.h"
#include "broker/http/publish_input.h"
#include "broker/http/routes.h"
#include "broker/security/quotas.h"
#include "broker/services/publish_service.h"
#include "broker/topics/message.h"
#include "proto/codec/wire.h"

namespace ferry::broker {

namespace {

// Retry-After for a broker that holds publishes back (memory over its high-water mark).
constexpr const char* busy_retry_after_s = "1";

// One request on its way: the messages encoded, which of them are retries, and what the
// publish answered, merged into one answer for all of them.
class http_publish : public std::enable_shared_from_this<http_publish> {
 public:
  http_publish(http_publish_env& env, const http_request& req, http_reply done)
      : env_(env), req_(req), done_(std::move(done)) {}

  void run();

 private:
  // Where message i's confirm comes from.
  struct slot {
    std::string key;       // its retry key ("" when it has none)
    int fresh = -1;        // its index in the publish, or
    int same_as = -1;      // an earlier message of this request with the same key, or
    bool earlier = false;  // a publish already confirmed, which went to:
    bool positioned = false;
    uint32_t partition = 0;
    uint64_t offset = 0;
  };

  bool wait_for_pending(const std::string& key);
  bool plan_events();
  void publish();
  v1::PublishOk merge(const ferry::error& err, const v1::PublishOk& ok);
  void answer(const ferry::error& err, v1::PublishOk&& ok);
  void reply(http_response r);

  http_publish_env& env_;
  const http_request& req_;  // until run() returns; a retry that waits keeps its own copy
  http_reply done_;
  publish_input in_;
  std::string request_key_;  // the Idempotency-Key's record
  std::vector<slot> slots_;
  std::vector<uint8_t> body_;  // the Publish body of the fresh messages
  int fresh_ = 0;              // how many messages are fresh (not retries)
  int64_t throttle_ms_ = 0;
};

void http_publish::run() {
  if (auto err = read_publish_input(req_, in_)) return reply(error_response(err));
  if (env_.memory.blocked()) {
    auto r = error_response(errc::flow_blocked,
                            "memory: message buffers are over the high-water mark; retry later");
    r.headers.emplace_back("Retry-After", busy_retry_after_s);
    return reply(std::move(r));
  }
  // Every message is checked before any is published: a request is taken whole or not.
  for (size_t i = 0; i < in_.batch.messages.size(); ++i) {
    const auto& m = in_.batch.messages[i];
    const size_t size = codec::message_size(m.fields, m.headers);
    if (size > env_.max_message_bytes)
      return reply(error_response(errc::message_too_large,
                                  "message " + std::to_string(i) + " is " + std::to_string(size) +
                                      " bytes encoded, over limits.max_message_bytes (" +
                                      std::to_string(env_.max_message_bytes) + ")"));
  }
  const std::string& topic = req_.params.at(0);
  const int64_t now = env_.now.now();
  slots_.resize(in_.batch.messages.size());
  if (!in_.idempotency_key.empty() && env_.retries.enabled()) {
    request_key_ = "r\n" + topic + "\n" + req_.who.name + "\n" + in_.idempotency_key;
    if (auto* rec = env_.retries.find(request_key_, now)) {
      if (rec->pending) return (void)wait_for_pending(request_key_);
      http_response again = rec->answer ? *rec->answer : http_response{};
      again.headers.emplace_back("Idempotent-Replayed", "true");
      return reply(std::move(again));
    }
    env_.retries.begin(request_key_, now);
  } else if (in_.cloudevents() && env_.retries.enabled()) {
    if (!plan_events()) return;
  }
  publish();
}

// A retry of a publish under way waits for its outcome, then runs again from the start.
bool http_publish::wait_for_pending(const std::string& key) {
  auto* rec = env_.retries.find(key, env_.now.now());
  if (rec == nullptr || !rec->pending) return false;
  auto copy = std::make_shared<http_request>(req_);
  // Woken inside the first publish's confirm (a log partition's completion, say): the
  // retry runs as an event of its own, not inside that.
  rec->waiters.push_back([&env = env_, copy, done = done_] {
    env.after(0, [&env, copy, done] { std::make_shared<http_publish>(env, *copy, done)->run(); });
  });
  return true;
}

// CloudEvents without an Idempotency-Key: each event's source and id is its key. False
// when the request waits for a publish under way.
bool http_publish::plan_events() {
  const std::string& topic = req_.params.at(0);
  const int64_t now = env_.now.now();
  // key -> its first message in this request (views into slots_, which does not grow here)
  std::unordered_map<std::string_view, int> first;
  for (size_t i = 0; i < slots_.size(); ++i) {
    const auto& f = in_.batch.messages[i].fields;
    slot& s = slots_[i];
    s.key = "e\n" + topic + "\n" + std::string(f.source) + "\n" + std::string(f.id);
    if (auto* rec = env_.retries.find(s.key, now)) {
      if (rec->pending) return !wait_for_pending(s.key);
      s.earlier = true;
      s.positioned = rec->positioned;
      s.partition = rec->partition;
      s.offset = rec->offset;
    }
    auto [at, added] = first.emplace(s.key, static_cast<int>(i));
    if (!added && !s.earlier) s.same_as = at->second;
  }
  for (auto& s : slots_)
    if (!s.earlier && s.same_as < 0) env_.retries.begin(s.key, now);
  return true;
}

void http_publish::publish() {
  // A Publish body, as a frame would carry it, parsed as the binary protocol's are: the
  // topic copies it once and keeps views into it.
  codec::publish_view head;
  head.topic = req_.params.at(0);
  head.producer_id = in_.producer_id;
  head.first_sequence = in_.first_sequence;
  head.partition = in_.partition;
  codec::append_publish_head(body_, head);
  for (size_t i = 0; i < slots_.size(); ++i) {
    slot& s = slots_[i];
    if (s.earlier || s.same_as >= 0) continue;
    const auto& m = in_.batch.messages[i];
    codec::append_publish_message(body_, m.fields, m.headers);
    s.fresh = fresh_++;
  }
  std::vector<std::string_view> messages;
  if (codec::parse_publish(wire::as_view(body_), head, messages) != errc::ok)
    return answer(ferry::error{make_error_code(errc::internal), "HTTP publish: bad encoding"}, {});
  throttle_ms_ = env_.limits.publish(req_.who, body_.size(), messages.size(), env_.now.now());
  if (messages.empty() && !slots_.empty()) return answer({}, {});  // every one a retry
  publish_request r{wire::as_view(body_), head, messages};
  env_.publishing.publish(r,
                          [self = shared_from_this()](const ferry::error& err, v1::PublishOk&& ok) {
                            self->answer(err, std::move(ok));
                          });
}

// The publish's confirm for the fresh messages, merged with the earlier confirms of the
// retried ones, in the request's order; the fresh messages' retry keys are settled.
v1::PublishOk http_publish::merge(const ferry::error& err, const v1::PublishOk& ok) {
  v1::PublishOk all;
  std::vector<bool> refused(static_cast<size_t>(fresh_), static_cast<bool>(err));
  for (const auto& e : ok.errors())
    if (e.index() < refused.size()) refused[e.index()] = true;
  const bool positioned =
      ok.offsets_size() > 0 || std::any_of(slots_.begin(), slots_.end(),
                                           [](const slot& s) { return s.earlier && s.positioned; });
  for (size_t i = 0; i < slots_.size(); ++i) {
    const slot& s = slots_[i];
    uint32_t partition = 0;
    uint64_t offset = 0;
    if (s.fresh >= 0) {
      if (s.fresh < ok.offsets_size()) {
        partition = ok.partitions(s.fresh);
        offset = ok.offsets(s.fresh);
      }
      for (const auto& e : ok.errors())
        if (static_cast<int>(e.index()) == s.fresh) {
          auto* out = all.add_errors();
          *out = e;
          out->set_index(static_cast<uint32_t>(i));
        }
      if (!s.key.empty()) {
        if (refused[s.fresh]) {
          env_.retries.forget(s.key);
        } else if (auto* rec = env_.retries.find(s.key, env_.now.now())) {
          rec->positioned = ok.offsets_size() > 0;
          rec->partition = partition;
          rec->offset = offset;
          env_.retries.finish(s.key);
        }
      }
    } else {
      const slot& origin = s.same_as >= 0 ? slots_[s.same_as] : s;
      if (origin.earlier) {
        partition = origin.partition;
        offset = origin.offset;
      } else if (origin.fresh >= 0 && origin.fresh < ok.offsets_size()) {
        partition = ok.partitions(origin.fresh);
        offset = ok.offsets(origin.fresh);
      }
      all.set_duplicates(all.duplicates() + 1);
    }
    if (positioned) {
      all.add_partitions(partition);
      all.add_offsets(offset);
    }
  }
  all.set_accepted(ok.accepted());
  all.set_duplicates(all.duplicates() + ok.duplicates());
  all.set_subscriptions(ok.subscriptions());
  *all.mutable_scheduled_ids() = ok.scheduled_ids();  // delayed ones this request stored
  return all;
}

void http_publish::answer(const ferry::error& err, v1::PublishOk&& ok) {
  const v1::PublishOk all = merge(err, ok);
  http_response r;
  if (err) {
    r = error_response(err);
  } else if (all.accepted() == 0 && all.duplicates() == 0 && all.errors_size() > 0) {
    // Nothing of it was taken: the first refusal is the answer.
    const auto& first = all.errors(0);
    r = error_response(errc_from_wire(first.code()),
                       "message " + std::to_string(first.index()) + ": " + first.message());
  } else {
    r = json_response(to_json_text(all), all.accepted() > 0 ? 201 : 200);
  }
  if (!request_key_.empty()) {
    if (r.status / 100 == 2) {
      if (auto* rec = env_.retries.find(request_key_, env_.now.now()))
        rec->answer = std::make_shared<const http_response>(r);
      env_.retries.finish(request_key_);
    } else {
      env_.retries.forget(request_key_);
    }
  }
  reply(std::move(r));
}

// Over the principal's publish rate: answered once the debt is paid, as Kafka's quotas
// delay their responses, so a client waiting for its answer slows down.
void http_publish::reply(http_response r) {
  if (throttle_ms_ <= 0) return done_(std::move(r));
  env_.after(throttle_ms_, [done = done_, r = std::move(r)]() mutable { done(std::move(r)); });
}

}  // namespace

void add_publish_routes(router& r, http_publish_env env) {
  auto shared = std::make_shared<http_publish_env>(std::move(env));
  r.add({"POST",
         "/v1/topics/{name}/messages",
         "Publishes to a topic of either kind: a CloudEvent (binary or structured mode), a "
         "batch of them, a ferry.v1.Publish as JSON (application/vnd.ferry.publish+json), "
         "or any other body as one message. 201 with the confirm (PublishOk) once stored as "
         "the topic's fsync policy says; 200 when every message was a retry.",
         on_param(resource_kind::topic, operation::publish),
         [shared](const http_request& req, http_reply done) {
           std::make_shared<http_publish>(*shared, req, std::move(done))->run();
         },
         v1::Publish::descriptor(),
         v1::PublishOk::descriptor(),
         {"key", "partition", "ttl_ms"},
         201});
}

}  // namespace ferry::broker
