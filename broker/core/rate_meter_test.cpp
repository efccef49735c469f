#include "broker/core/rate_meter.h"

#include <catch2/catch.hpp>

using ferry::broker::rate_meter;

TEST_CASE("a rate is the average between samples at least five seconds apart", "[core]") {
  rate_meter m(1000);
  CHECK(m.sample(1000, 0) == 0);
  CHECK(m.sample(3000, 50) == 0);               // too soon: no new sample, the rate so far (none)
  CHECK(m.sample(6000, 100) == Approx(20.0));   // 100 over 5 s since creation
  CHECK(m.sample(9000, 400) == Approx(20.0));   // too soon again: still the last rate
  CHECK(m.sample(16000, 400) == Approx(30.0));  // 300 over 10 s
  CHECK(m.sample(21000, 400) == 0);             // nothing new over 5 s
}

TEST_CASE("a meter made for a counter already counting measures from there", "[core]") {
  rate_meter m(0, 1000);
  CHECK(m.sample(10000, 1500) == Approx(50.0));
}
