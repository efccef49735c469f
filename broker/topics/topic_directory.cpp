#include "broker/topics/topic_directory.h"

#include <algorithm>

#include "proto/codec/names.h"

namespace ferry::broker {

topic* topic_directory::find(std::string_view name) const {
  for (auto* f : families_)
    if (topic* t = f->find(name)) return t;
  return nullptr;
}

topic_family* topic_directory::family(v1::TopicKind kind) const {
  for (auto* f : families_)
    if (f->kind() == kind) return f;
  return nullptr;
}

topic_family* topic_directory::family_of(std::string_view name) const {
  for (auto* f : families_)
    if (f->find(name) != nullptr) return f;
  return nullptr;
}

void topic_directory::list(std::string_view pattern, v1::TopicList& out,
                           const list_page& page) const {
  std::vector<const topic*> found;
  for (auto* f : families_)
    f->for_each([&](const topic& t) {
      if ((page.after.empty() || t.name() > page.after) &&
          (pattern.empty() || names::matches(pattern, t.name())))
        found.push_back(&t);
    });
  const auto by_name = [](const topic* a, const topic* b) { return a->name() < b->name(); };
  if (found.size() > page.limit) {
    // The page's entries first (unordered), the rest cut off.
    std::nth_element(found.begin(), found.begin() + static_cast<ptrdiff_t>(page.limit), found.end(),
                     by_name);
    found.resize(page.limit);
  }
  std::sort(found.begin(), found.end(), by_name);
  for (const topic* t : found)
    t->describe(*out.add_topics());
}

}  // namespace ferry::broker
