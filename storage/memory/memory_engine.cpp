#include <map>

#include "storage/engine.h"
#include "storage/memory/memory_log_store.h"

namespace ferry::storage {
namespace {

// The reference implementation of meta_store: an ordered map.
class memory_meta_store final : public meta_store {
 public:
  ferry::error apply(std::span<const meta_change> changes) override {
    for (const auto& c : changes) {
      if (c.value) {
        records_[c.key] = *c.value;
      } else {
        records_.erase(c.key);
      }
    }
    return {};
  }
  ferry::error put(std::string_view key, std::string_view value) override {
    records_[std::string(key)] = std::string(value);
    return {};
  }
  ferry::error erase(std::string_view key) override {
    records_.erase(std::string(key));
    return {};
  }
  ferry::error scan(std::string_view prefix,
                    const std::function<void(std::string_view, std::string_view)>& fn) override {
    for (auto it = records_.lower_bound(std::string(prefix));
         it != records_.end() && std::string_view(it->first).starts_with(prefix); ++it)
      fn(it->first, it->second);
    return {};
  }

 private:
  std::map<std::string, std::string, std::less<>> records_;
};

// The reference implementation of schedule_store: an ordered map by key.
class memory_schedule_store final : public schedule_store {
 public:
  ferry::error apply(std::span<const schedule_entry> add,
                     std::span<const schedule_key> remove) override {
    for (const auto& e : add)
      entries_[e.key] = e.value;
    for (const auto& k : remove)
      entries_.erase(k);
    return {};
  }
  ferry::error scan(const schedule_key& from, int64_t until_ms,
                    const std::function<bool(const schedule_key&, std::string_view)>& fn) override {
    for (auto it = entries_.lower_bound(from);
         it != entries_.end() && it->first.due_ms <= until_ms && fn(it->first, it->second); ++it) {
    }
    return {};
  }

 private:
  std::map<schedule_key, std::string> entries_;
};

class memory_engine final : public engine {
 public:
  meta_store& meta() override { return meta_; }
  log_store& log() override { return log_; }
  schedule_store& schedule() override { return schedule_; }

 private:
  memory_meta_store meta_;
  memory_log_store log_;
  memory_schedule_store schedule_;
};

}  // namespace

std::unique_ptr<engine> make_memory_engine() {
  return std::make_unique<memory_engine>();
}

}  // namespace ferry::storage
