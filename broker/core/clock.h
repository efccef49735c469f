// The broker's clock, injectable so timers (ack leases, TTLs, dedup windows) can be
// tested without sleeping. All broker-state code reads time through a clock&.
#pragma once

#include <chrono>
#include <cstdint>

namespace ferry::broker {

class clock {
 public:
  virtual ~clock() = default;
  // Monotonic milliseconds (for deadlines); only differences are meaningful.
  virtual int64_t steady_ms() const = 0;
  // Wall-clock Unix milliseconds (for timestamps users see).
  virtual int64_t wall_ms() const = 0;
};

class system_clock final : public clock {
 public:
  int64_t steady_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::steady_clock::now().time_since_epoch()).count();
  }
  int64_t wall_ms() const override {
    using namespace std::chrono;
    return duration_cast<milliseconds>(std::chrono::system_clock::now().time_since_epoch()).count();
  }
};

// The broker loop's time, read from the clock once per event: the loop stamps it when an
// event begins (a request, a timer tick, a storage completion: docs/ARCHITECTURE.md,
// "Events and the clock"),
// and everything handled in that event sees the same now(). Loop only.
class loop_clock {
 public:
  explicit loop_clock(const clock& c) : clock_(c), now_(c.steady_ms()) {}
  void stamp() { now_ = clock_.steady_ms(); }
  // Steady milliseconds at the start of the current event.
  int64_t now() const { return now_; }
  // Wall-clock Unix milliseconds, read now (for timestamps users see).
  int64_t wall_ms() const { return clock_.wall_ms(); }

 private:
  const clock& clock_;
  int64_t now_;
};

namespace testing {
// A clock that moves only when told to.
class manual_clock final : public clock {
 public:
  int64_t steady_ms() const override { return steady_; }
  int64_t wall_ms() const override { return wall_; }
  void advance(int64_t ms) {
    steady_ += ms;
    wall_ += ms;
  }

 private:
  int64_t steady_ = 1'000'000;
  int64_t wall_ = 1'700'000'000'000;
};
}  // namespace testing

}  // namespace ferry::broker
