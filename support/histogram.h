// histogram: counts of observations in fixed buckets (cumulative on export), their sum and
// count, for /metrics. Plain counters: one owner thread records, and a reader on another
// thread takes a copy under whatever lock the owner already holds for its other counters.
// No allocation: the bucket bounds are chosen at construction, at most max_buckets.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <initializer_list>

namespace ferry {

class histogram {
 public:
  static constexpr size_t max_buckets = 16;

  // Upper bounds, ascending; an observation above the last goes to +Inf only.
  histogram(std::initializer_list<double> bounds) {
    for (double b : bounds)
      if (n_ < max_buckets) bounds_[n_++] = b;
  }

  void observe(double v) {
    size_t i = 0;
    while (i < n_ && v > bounds_[i])
      ++i;
    ++counts_[i];  // counts_[n_] is the +Inf bucket
    sum_ += v;
    ++count_;
  }

  size_t buckets() const { return n_; }
  double bound(size_t i) const { return bounds_[i]; }
  // Observations <= bound(i).
  uint64_t cumulative(size_t i) const {
    uint64_t c = 0;
    for (size_t j = 0; j <= i; ++j)
      c += counts_[j];
    return c;
  }
  uint64_t count() const { return count_; }
  double sum() const { return sum_; }

 private:
  std::array<double, max_buckets> bounds_{};
  std::array<uint64_t, max_buckets + 1> counts_{};
  size_t n_ = 0;
  double sum_ = 0;
  uint64_t count_ = 0;
};

// Seconds from 50 us to 2.5 s: storage writes and fsyncs, publish-to-confirm.
inline histogram latency_histogram() {
  return {0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01,
          0.025,   0.05,   0.1,     0.25,   0.5,   1,      2.5};
}

}  // namespace ferry
