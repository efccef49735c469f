// topic_family: the topics of one kind (queues/queue_registry for memory topics,
// logs/log_registry for log topics), as topic_directory sees them.
#pragma once

#include <functional>
#include <string_view>

#include "broker/catalog/catalog.h"
#include "broker/topics/topic.h"

namespace ferry::broker {

class topic_family {
 public:
  virtual v1::TopicKind kind() const = 0;
  virtual topic* find(std::string_view name) = 0;
  // Creates topic req.name() of this kind (the name is valid). `other_kind` is the topic
  // of that name in another family, if any: refused with TOPIC_EXISTS at the point the
  // family's checks say (PROTOCOL.md 11). With if_not_exists and a topic of that name and
  // the same options here, success with `info` describing it and no change; otherwise
  // TOPIC_EXISTS. Records what to store in `b`.
  virtual ferry::error create(const v1::CreateTopic& req, uint64_t owner_session,
                              const topic* other_kind, v1::TopicInfo& info, catalog_batch& b) = 0;
  // Deletes topic `name` of this family and what belongs to it alone (subscriptions on
  // exactly its name, readers); records what to erase in `b`.
  virtual void remove(std::string_view name, catalog_batch& b) = 0;
  // Every topic of the family, in name order.
  virtual void for_each(const std::function<void(const topic&)>& fn) const = 0;

 protected:
  ~topic_family() = default;
};

}  // namespace ferry::broker
