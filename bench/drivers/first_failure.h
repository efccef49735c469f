// first_failure: why a run failed, as the first of its threads saw it. Any thread may
// report; the first reason is kept and later ones only counted.
#pragma once

#include <cstdint>
#include <mutex>
#include <string>

namespace ferry::bench {

class first_failure {
 public:
  void set(const std::string& why) {
    std::lock_guard lock(mu_);
    if (count_++ == 0) first_ = why;
  }
  bool any() const {
    std::lock_guard lock(mu_);
    return count_ != 0;
  }
  // Empty, or the first reason (with how many followed it).
  std::string text() const {
    std::lock_guard lock(mu_);
    if (count_ <= 1) return first_;
    return first_ + " (and " + std::to_string(count_ - 1) + " more failures)";
  }

 private:
  mutable std::mutex mu_;
  uint32_t count_ = 0;
  std::string first_;
};

}  // namespace ferry::bench
