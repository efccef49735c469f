// publish_scheduler: where publish_service sends a Publish whose messages are delayed
// (PROTOCOL.md 5.7), so the data path stays one door: schedule/ implements it.
#pragma once

#include <cstdint>
#include <string>

#include "broker/topics/topic.h"

namespace ferry::broker {

class publish_scheduler {
 public:
  // Takes `r` when its first message is delayed, and answers `done` once every message of
  // it is in the schedule (durably); false: not delayed, publish it now.
  virtual bool take(publish_request& r, publish_done& done) = 0;
  // Delayed messages of `topic` waiting for their due time.
  virtual uint64_t waiting(const std::string& topic) const = 0;

 protected:
  ~publish_scheduler() = default;
};

}  // namespace ferry::broker
