// topic: what every topic is to the layers above it, whatever its kind (a memory topic in
// queues/, a log topic in logs/): a name, options, a description, and a place to publish.
// Callers find topics through topic_directory and stop branching on their kind.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/publish.pb.h"

#include "proto/codec/errc.h"
#include "proto/codec/frame_codec.h"

namespace ferry::broker {

// One Publish frame as it reaches a topic: the body, and views into it (parse_publish).
struct publish_request {
  std::string_view body;
  codec::publish_view& head;
  std::vector<std::string_view>& messages;
};

// The answer to a Publish: a whole-frame refusal as an error, else PublishOk (with the
// per-message refusals in its errors).
using publish_done = std::function<void(const ferry::error&, v1::PublishOk&&)>;

class topic {
 public:
  virtual ~topic() = default;
  virtual const std::string& name() const = 0;
  virtual v1::TopicKind kind() const = 0;
  virtual const v1::TopicOptions& options() const = 0;
  // TopicInfo as DescribeTopic answers it.
  virtual void describe(v1::TopicInfo& out) const = 0;
  // Takes one frame's messages. The topic copies the body once into a shared buffer (the
  // views in `r` are moved into the copy) and answers `done` exactly once: a memory topic
  // at once, a log topic when its records are durable as its fsync policy says.
  virtual void publish(publish_request& r, publish_done done) = 0;
};

}  // namespace ferry::broker
