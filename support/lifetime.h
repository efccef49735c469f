// lifetime_token: how a callback that may run after its object is gone finds out.
//
// Storage completions, timers and posted work come back on their executor later; by then
// the object that asked (a topic, a partition, a reader, a part of the client) may have
// been deleted. The object owns a lifetime_token; each callback captures a watch (or is
// wrapped by guard()) and touches the object only while the watch has not expired. Used
// by the broker and libferry alike. One executor only: the check is not a lock.
#pragma once

#include <memory>
#include <utility>

namespace ferry {

class lifetime_token {
 public:
  using watch_type = std::weak_ptr<const void>;

  lifetime_token() = default;
  // A copy would be a second life of the same object: not allowed.
  lifetime_token(const lifetime_token&) = delete;
  lifetime_token& operator=(const lifetime_token&) = delete;

  watch_type watch() const {
    if (!alive_) alive_ = std::make_shared<char>(0);  // on first use: most owners never need one
    return alive_;
  }

  // `fn`, called only while the owner of this token lives (else the call does nothing).
  template <typename F>
  auto guard(F fn) const {
    return [w = watch(), fn = std::move(fn)](auto&&... args) mutable {
      if (!w.expired()) fn(std::forward<decltype(args)>(args)...);
    };
  }

 private:
  mutable std::shared_ptr<const void> alive_;
};

}  // namespace ferry
