// rate_meter: a counter's rate per second, for describe. It is sampled when read, not on
// the data path: the rate it gives is the counter's average over the interval between its
// two latest samples, samples being at least `min_interval_ms` apart (the first sample is
// the meter's creation, the counter then at `total`). Read every second or two (the
// dashboard, a scrape) it is the rate of the last five seconds or so; read rarely, the
// average since the previous read.
#pragma once

#include <cstdint>

namespace ferry::broker {

class rate_meter {
 public:
  static constexpr int64_t min_interval_ms = 5000;

  explicit rate_meter(int64_t now_ms, uint64_t total = 0) : at_ms_(now_ms), count_(total) {}

  double sample(int64_t now_ms, uint64_t total) {
    if (now_ms - at_ms_ >= min_interval_ms) {
      rate_ = static_cast<double>(total - count_) * 1000.0 / static_cast<double>(now_ms - at_ms_);
      at_ms_ = now_ms;
      count_ = total;
    }
    return rate_;
  }

 private:
  int64_t at_ms_;
  uint64_t count_;
  double rate_ = 0;
};

}  // namespace ferry::broker
