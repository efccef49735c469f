#include <map>
#include <set>

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

// The reference implementation of schedule_store: ordered maps by key, and by group.
class memory_schedule_store final : public schedule_store {
 public:
  ferry::error apply(std::span<const schedule_entry> add,
                     std::span<const schedule_ref> remove) override {
    for (const auto& e : add) {
      entries_[e.key] = e.value;
      groups_.emplace(e.group, e.key);
    }
    for (const auto& r : remove) {
      entries_.erase(r.key);
      groups_.erase({r.group, r.key});
    }
    return {};
  }
  ferry::error scan(const schedule_key& from, int64_t until_ms, const schedule_visit& fn) override {
    for (auto it = entries_.lower_bound(from);
         it != entries_.end() && it->first.due_ms <= until_ms && fn(it->first, it->second); ++it) {
    }
    return {};
  }
  ferry::error scan_group(std::string_view group, const schedule_key& from,
                          const schedule_visit& fn) override {
    for (auto it = groups_.lower_bound({std::string(group), from});
         it != groups_.end() && it->first == group && fn(it->second, entries_.at(it->second));
         ++it) {
    }
    return {};
  }
  ferry::error get(const schedule_key& key, std::string& value, bool& found) override {
    auto it = entries_.find(key);
    found = it != entries_.end();
    if (found) value = it->second;
    return {};
  }

 private:
  std::map<schedule_key, std::string> entries_;
  std::set<std::pair<std::string, schedule_key>> groups_;
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
