// topic_directory: every topic of the broker, of every kind, by name. Names are unique
// across kinds. Owns nothing: the families own their topics. Loop only.
#pragma once

#include <string_view>
#include <vector>

#include "broker/core/list_page.h"
#include "broker/topics/topic_family.h"

namespace ferry::broker {

class topic_directory {
 public:
  void add_family(topic_family& f) { families_.push_back(&f); }

  topic* find(std::string_view name) const;
  topic_family* family(v1::TopicKind kind) const;
  // The family holding topic `name`, or nullptr.
  topic_family* family_of(std::string_view name) const;
  // Topics of every kind whose name matches `pattern` (all when empty), in name order.
  void list(std::string_view pattern, v1::TopicList& out, const list_page& page = {}) const;

 private:
  std::vector<topic_family*> families_;
};

}  // namespace ferry::broker
