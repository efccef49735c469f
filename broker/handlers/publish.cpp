// Publish: the data path from a client's frame onto subscriptions or into a log.
#include "ferry/v1/publish.pb.h"

#include "broker/core/errors.h"
#include "broker/server/context.h"
#include "broker/session/session.h"
#include "proto/codec/names.h"

namespace ferry::broker::handlers {
namespace {

// Copies the frame body once into a shared buffer and points the views into the copy:
// every message is a view into it from here on.
bytes_ref adopt(std::string_view body, memory_accountant* acct, codec::publish_view& pv,
                std::vector<std::string_view>& messages) {
  auto buf = bytes_ref::copy_of(body, acct);
  pv.topic = buf.rebase(body, pv.topic);
  pv.producer_id = buf.rebase(body, pv.producer_id);
  for (auto& m : messages)
    m = buf.rebase(body, m);
  return buf;
}

void publish_to_log(session& s, uint64_t correlation_id, log_topic& t, std::string_view body,
                    codec::publish_view& pv, std::vector<std::string_view>& messages) {
  // Log records held for readers are bounded on their own (log_topics.tail_cache_bytes),
  // so they do not count against the memory topics' high-water mark.
  auto buf = adopt(body, nullptr, pv, messages);
  // Answered once durable (the topic's fsync policy), on a later loop event.
  t.publish(pv, messages, buf,
            [w = s.weak_from_this(), correlation_id](ferry::error err, v1::PublishOk ok) {
              auto sp = w.lock();
              if (!sp) return;
              if (err) return sp->respond_error(correlation_id, err);
              sp->ctx().counters().messages_published += ok.accepted();
              sp->respond(correlation_id, codec::body::publish_ok, ok);
            });
}

}  // namespace

void handle_publish(session& s, uint64_t correlation_id, std::string_view body) {
  auto& reg = s.ctx().topics();
  reg.begin_event();
  codec::publish_view pv;
  thread_local std::vector<std::string_view> messages;  // reused: no allocation per frame
  if (codec::parse_publish(body, pv, messages) != errc::ok) {
    s.fail(correlation_id, errc::malformed_frame, "Publish is not a valid ferry.v1.Publish");
    return;
  }
  memory_topic* t = reg.find_topic(pv.topic);
  if (t == nullptr) {
    if (log_topic* lt = reg.find_log_topic(pv.topic))
      return publish_to_log(s, correlation_id, *lt, body, pv, messages);
    if (auto why = names::check_name(pv.topic); !why.empty()) {
      s.respond_error(correlation_id, errc::invalid_name,
                      "topic name " + quoted(pv.topic) + ": " + why);
    } else {
      s.respond_error(correlation_id, errc::topic_not_found,
                      "topic " + quoted(pv.topic) + " does not exist");
    }
    return;
  }
  if (pv.partition) {
    s.respond_error(correlation_id, errc::invalid_argument,
                    "partition applies to log topics only; '" + t->name() + "' is a memory topic");
    return;
  }
  auto buf = adopt(body, &reg.memory(), pv, messages);
  v1::PublishOk ok;
  reg.publish(*t, pv, messages, buf, ok);
  s.ctx().counters().messages_published += ok.accepted();
  s.respond(correlation_id, codec::body::publish_ok, ok);
}

}  // namespace ferry::broker::handlers
