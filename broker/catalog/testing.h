// testing: a catalog for unit tests of what writes through one. It keeps every batch it
// was asked to apply; the answers wait until the test gives them, oldest first (as the
// storage thread completes them), or, `instant`, come at once. Test code only.
#pragma once

#include <deque>
#include <vector>

#include "broker/catalog/catalog.h"

namespace ferry::broker::testing {

class held_catalog final : public catalog {
 public:
  explicit held_catalog(bool instant = false) : instant_(instant) {}

  ferry::error load(catalog_snapshot&) override { return {}; }
  uint32_t allocate_topic_id(catalog_batch& b) override {
    b.put_next_topic_id(next_ + 1);
    return next_++;
  }
  void apply(catalog_batch b, done_fn done) override {
    applied.push_back(std::move(b));
    if (instant_) return done({});
    pending.push_back(std::move(done));
  }
  uint64_t watch(watch_fn) override { return 0; }
  void unwatch(uint64_t) override {}

  // Answers the oldest pending batch.
  void answer(const ferry::error& err = {}) {
    auto done = std::move(pending.front());
    pending.pop_front();
    done(err);
  }
  // Answers every pending batch.
  void complete_all(const ferry::error& err = {}) {
    while (!pending.empty())
      answer(err);
  }

  std::vector<catalog_batch> applied;
  std::deque<done_fn> pending;

 private:
  bool instant_;
  uint32_t next_ = 1;
};

}  // namespace ferry::broker::testing
