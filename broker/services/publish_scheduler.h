// publish_scheduler: where publish_service sends a Publish whose messages are delayed
// (PROTOCOL.md 5.7), so the data path stays one door: schedule/ implements it.
#pragma once

#include <cstdint>
#include <string>

#include "ferry/v1/publish.pb.h"

#include "broker/services/reply.h"
#include "broker/topics/topic.h"

namespace ferry::broker {

class publish_scheduler {
 public:
  // Takes `r` when its first message is delayed, and answers `done` once every message of
  // it is in the schedule (durably); false: not delayed, publish it now.
  virtual bool take(publish_request& r, publish_done& done) = 0;
  // Delayed messages of `topic` waiting for their due time.
  virtual uint64_t waiting(const std::string& topic) const = 0;
  // A page of a topic's waiting messages, in due-time order (the topic exists).
  virtual void list(const v1::ListScheduled& req, reply<v1::ScheduledList> done) = 0;
  // Takes a message that is not due yet out of the schedule (SCHEDULED_NOT_FOUND if no such
  // id waits for the topic).
  virtual void cancel(const v1::CancelScheduled& req, reply<v1::CancelScheduledOk> done) = 0;

 protected:
  ~publish_scheduler() = default;
};

}  // namespace ferry::broker
