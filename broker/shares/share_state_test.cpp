// share_state against a model (a set of done offsets, a map of counts): random deliveries,
// acks in any order and retention skips keep the same answers, low is the first offset not
// done, ranges stay few and apart, and what encode() writes decodes to the same state.
#include "broker/shares/share_state.h"

#include <map>
#include <set>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

using ferry::broker::share_state;

namespace {

struct model {
  uint64_t floor = 0;  // skipped below
  std::set<uint64_t> done;
  std::map<uint64_t, uint32_t> counts;
  uint64_t read = 0;

  bool is_done(uint64_t o) const { return o < floor || done.contains(o); }
  uint64_t low() const {
    uint64_t l = floor;
    while (done.contains(l))
      ++l;
    return l;
  }
};

}  // namespace

TEST_CASE("share state: acks in any order end as one low-water mark", "[shares]") {
  share_state s(10);
  for (uint64_t o : {12, 11, 14, 13, 16})
    s.finish(o);
  CHECK(s.low() == 10);
  REQUIRE(s.done_ranges().size() == 2);  // [11, 15) and [16, 17)
  CHECK(s.done_ranges()[0] == std::pair<uint64_t, uint64_t>{11, 15});
  s.finish(10);
  CHECK(s.low() == 15);
  s.finish(15);
  CHECK(s.low() == 17);
  CHECK(s.done_ranges().empty());
  share_state back;
  REQUIRE(share_state::decode(s.encode(), back));
  CHECK(back == s);
}

TEST_CASE("share state: counts of records delivered more than once, the read mark", "[shares]") {
  share_state s(0);
  s.delivered(0, 1);
  s.delivered(1, 1);
  s.delivered(1, 2);
  s.delivered(3, 1);
  CHECK(s.delivered_count(0) == 1);
  CHECK(s.delivered_count(1) == 2);
  CHECK(s.delivered_count(2) == 1);  // below the read mark: delivered (its ack may be pending)
  CHECK(s.delivered_count(4) == 0);
  s.finish(1);
  CHECK(s.delivered_count(1) == 0);
  CHECK(s.counted() == 0);
  s.skip_to(3);
  CHECK(s.low() == 3);
  CHECK(s.delivered_count(3) == 1);
  CHECK_FALSE(share_state::decode("", s));
  CHECK_FALSE(share_state::decode(std::string("\x02\x00", 2), s));
  CHECK_FALSE(share_state::decode(s.encode() + "x", s));
}

TEST_CASE("share state: random acks, deliveries and skips agree with a model and survive encoding",
          "[shares]") {
  rc::prop("model", [] {
    share_state s;
    model m;
    const auto ops = *rc::gen::container<std::vector<std::pair<int, uint8_t>>>(
        rc::gen::pair(rc::gen::inRange(0, 4), rc::gen::inRange<uint8_t>(0, 64)));
    for (auto [op, arg] : ops) {
      const uint64_t o = arg;
      if (op == 0) {
        const uint32_t count = s.delivered_count(o) + 1;
        s.delivered(o, count);
        if (!m.is_done(o)) {
          m.read = std::max(m.read, o + 1);
          if (count > 1) m.counts[o] = count;
        }
      } else if (op == 1 || op == 2) {
        s.finish(o);
        if (!m.is_done(o)) {
          m.done.insert(o);
          m.counts.erase(o);
          m.read = std::max(m.read, o + 1);
        }
      } else if (o > m.floor && o % 8 == 0) {
        s.skip_to(o);
        m.floor = o;
        m.read = std::max(m.read, o);
        std::erase_if(m.counts, [&](const auto& kv) { return kv.first < m.low(); });
      }
      RC_ASSERT(s.low() == m.low());
      for (uint64_t x = 0; x < 70; ++x) {
        RC_ASSERT(s.done(x) == m.is_done(x));
        const uint32_t want = m.is_done(x) || x >= std::max(m.read, m.low())
                                  ? 0
                                  : (m.counts.contains(x) ? m.counts[x] : 1);
        RC_ASSERT(s.delivered_count(x) == want);
      }
      for (size_t i = 0; i < s.done_ranges().size(); ++i) {
        RC_ASSERT(s.done_ranges()[i].first > s.low());
        if (i > 0) RC_ASSERT(s.done_ranges()[i].first > s.done_ranges()[i - 1].second);
      }
      share_state back;
      RC_ASSERT(share_state::decode(s.encode(), back));
      RC_ASSERT(back == s);
    }
  });
}
