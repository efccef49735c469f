#include "bench/histogram.h"

#include <algorithm>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

using ferry::bench::histogram;

TEST_CASE("histogram quantiles are within 3.2% above the exact value", "[bench][histogram]") {
  rc::prop("quantiles", [] {
    auto values = *rc::gen::nonEmpty(
        rc::gen::container<std::vector<uint64_t>>(rc::gen::inRange<uint64_t>(0, 1ULL << 40)));
    histogram h;
    for (auto v : values)
      h.record(v);
    std::sort(values.begin(), values.end());
    RC_ASSERT(h.count() == values.size());
    RC_ASSERT(h.max() == values.back());
    RC_ASSERT(h.min() == values.front());
    for (double q : {0.5, 0.9, 0.99, 1.0}) {
      size_t rank =
          std::max<size_t>(1, static_cast<size_t>(q * static_cast<double>(values.size())));
      uint64_t exact = values[rank - 1];
      uint64_t got = h.quantile(q);
      RC_ASSERT(got >= exact);
      RC_ASSERT(static_cast<double>(got) <= static_cast<double>(exact) * 1.032 + 1);
    }
  });
}

TEST_CASE("histogram merge adds counts", "[bench][histogram]") {
  histogram a, b;
  a.record(10);
  b.record(1000);
  b.record(5);
  a.merge(b);
  CHECK(a.count() == 3);
  CHECK(a.max() == 1000);
  CHECK(a.min() == 5);
  CHECK(a.to_json() == "[[5,1],[10,1],[1007,1]]");
}
