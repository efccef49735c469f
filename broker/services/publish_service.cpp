#include "broker/services/publish_service.h"

#include "broker/core/errors.h"
#include "broker/topics/topic_directory.h"
#include "proto/codec/names.h"

namespace ferry::broker {

void publish_service::publish(publish_request& r, publish_done done) {
  if (scheduler_ != nullptr && scheduler_->take(r, done)) return;
  publish_due(r, std::move(done));
}

void publish_service::publish_due(publish_request& r, publish_done done) {
  topic* t = topics_.find(r.head.topic);
  if (t != nullptr) return t->publish(r, std::move(done));
  if (auto why = names::check_name(r.head.topic); !why.empty())
    return done(fail(errc::invalid_name, "topic name " + quoted(r.head.topic) + ": " + why), {});
  done(fail(errc::topic_not_found, "topic " + quoted(r.head.topic) + " does not exist"), {});
}

}  // namespace ferry::broker
