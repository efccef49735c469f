// share_state: the delivery state of one partition of a shared subscription on a log topic
// (PROTOCOL.md 9.9), kept in memory and stored as it changes:
// - low: every offset below it is done (acknowledged or dead-lettered);
// - done ranges above low, sorted and apart (acks out of order), so a long run of acked
//   records costs two numbers, not one per record;
// - read mark: every offset below it was delivered at least once;
// - delivery counts of records above low that were delivered more than once and are not
//   done (a record below the read mark without one was delivered once).
// Pure: no clock, no storage. Loop only.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/unordered/unordered_flat_map.hpp>

namespace ferry::broker {

class share_state {
 public:
  share_state() = default;
  explicit share_state(uint64_t low) : low_(low), read_(low) {}

  uint64_t low() const { return low_; }
  uint64_t read_mark() const { return read_; }
  bool done(uint64_t offset) const;
  // How often `offset` was delivered, as far as this state knows: 0 at or above the read
  // mark and for done records.
  uint32_t delivered_count(uint64_t offset) const;
  // The done ranges above low, [first, end) each (tests, describe).
  const std::vector<std::pair<uint64_t, uint64_t>>& done_ranges() const { return done_; }
  size_t counted() const { return counts_.size(); }

  // `offset` went to a consumer for the `count`th time.
  void delivered(uint64_t offset, uint32_t count);
  // `offset` is done; low moves up over every done offset it reaches.
  void finish(uint64_t offset);
  // Nothing below `start` can be delivered any more (retention removed it): low moves up.
  void skip_to(uint64_t start);

  std::string encode() const;
  // False (and `out` untouched) unless `bytes` is what encode() wrote.
  static bool decode(std::string_view bytes, share_state& out);

  bool operator==(const share_state& o) const;

 private:
  void advance_low();

  uint64_t low_ = 0;
  uint64_t read_ = 0;
  std::vector<std::pair<uint64_t, uint64_t>> done_;
  boost::unordered_flat_map<uint64_t, uint32_t> counts_;
};

}  // namespace ferry::broker
