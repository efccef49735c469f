// Publish: the data path from a client's frame onto subscriptions.
#include "ferry/v1/publish.pb.h"

#include "broker/server/context.h"
#include "broker/session/session.h"
#include "proto/codec/names.h"

namespace ferry::broker::handlers {

void handle_publish(session& s, uint64_t correlation_id, std::string_view body) {
  auto& reg = s.ctx().topics();
  reg.begin_event();
  // One copy of the whole frame body; every message is a view into it from here on.
  auto buf = bytes_ref::copy_of(body, &reg.memory());
  codec::publish_view pv;
  thread_local std::vector<std::string_view> messages;  // reused: no allocation per frame
  if (codec::parse_publish(buf.get()->view(), pv, messages) != errc::ok) {
    s.fail(correlation_id, errc::malformed_frame, "Publish is not a valid ferry.v1.Publish");
    return;
  }
  memory_topic* t = reg.find_topic(pv.topic);
  if (t == nullptr) {
    if (log_topic* lt = reg.find_log_topic(pv.topic)) {
      // Answered once durable (the topic's fsync policy), on a later loop event.
      lt->publish(pv, messages, buf,
                  [w = s.weak_from_this(), correlation_id](ferry::error err, v1::PublishOk ok) {
                    auto sp = w.lock();
                    if (!sp) return;
                    if (err) {
                      sp->respond_error(correlation_id, err);
                      return;
                    }
                    sp->ctx().counters().messages_published += ok.accepted();
                    sp->respond(correlation_id, codec::body::publish_ok, ok);
                  });
      return;
    }
    if (auto why = names::check_name(pv.topic); !why.empty()) {
      s.respond_error(correlation_id, errc::invalid_name,
                      "topic name '" + std::string(pv.topic) + "': " + why);
    } else {
      s.respond_error(correlation_id, errc::topic_not_found,
                      "topic '" + std::string(pv.topic) + "' does not exist");
    }
    return;
  }
  if (pv.partition) {
    s.respond_error(correlation_id, errc::invalid_argument,
                    "partition applies to log topics only; '" + t->name() + "' is a memory topic");
    return;
  }
  v1::PublishOk ok;
  reg.publish(*t, pv, messages, buf, ok);
  s.ctx().counters().messages_published += ok.accepted();
  s.respond(correlation_id, codec::body::publish_ok, ok);
}

}  // namespace ferry::broker::handlers
