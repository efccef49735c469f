// publish_service: the data path's door from any front end to a topic: finds the topic
// the frame names and hands the frame to it (queues/memory_topic or logs/log_topic), or,
// when its first message is delayed, to the schedule (publish_scheduler.h). Loop only.
#pragma once

#include "broker/services/publish_scheduler.h"
#include "broker/topics/topic.h"

namespace ferry::broker {

class topic_directory;

class publish_service {
 public:
  explicit publish_service(topic_directory& topics) : topics_(topics) {}

  // Answers `done` once (PROTOCOL.md 5, 9.2): INVALID_NAME or TOPIC_NOT_FOUND when no
  // topic has the name, else what the topic answers.
  void publish(publish_request& r, publish_done done);
  // The same, never scheduled: messages whose time has come.
  void publish_due(publish_request& r, publish_done done);
  void set_scheduler(publish_scheduler* s) { scheduler_ = s; }

 private:
  topic_directory& topics_;
  publish_scheduler* scheduler_ = nullptr;
};

}  // namespace ferry::broker
