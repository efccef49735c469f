#include "broker/http/idempotency.h"

namespace ferry::broker {

idempotency_window::record* idempotency_window::find(const std::string& key, int64_t now_ms) {
  evict(now_ms);
  auto it = keys_.find(key);
  return it == keys_.end() ? nullptr : &it->second;
}

idempotency_window::record& idempotency_window::begin(const std::string& key, int64_t now_ms) {
  evict(now_ms);
  record& r = keys_[key];
  r = record{};
  r.serial = ++next_serial_;
  order_.push_back({now_ms, r.serial, key});
  return r;
}

void idempotency_window::finish(const std::string& key) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  it->second.pending = false;
  wake(std::move(it->second.waiters));
}

void idempotency_window::forget(const std::string& key) {
  auto it = keys_.find(key);
  if (it == keys_.end()) return;
  auto waiters = std::move(it->second.waiters);
  keys_.erase(it);
  wake(std::move(waiters));
}

// The oldest records go while there are too many or they are older than the window; a
// pending one stays (its publish is under way) and holds back those behind it.
void idempotency_window::evict(int64_t now_ms) {
  while (!order_.empty()) {
    const stamp& s = order_.front();
    auto it = keys_.find(s.key);
    if (it == keys_.end() || it->second.serial != s.serial) {
      order_.pop_front();  // forgotten, or begun again later
      continue;
    }
    const bool expired = now_ms - s.at_ms >= window_ms_;
    if ((!expired && keys_.size() <= max_keys_) || it->second.pending) break;
    keys_.erase(it);
    order_.pop_front();
  }
}

void idempotency_window::wake(std::vector<std::function<void()>> waiters) {
  for (auto& w : waiters)
    w();
}

}  // namespace ferry::broker
