#include "broker/shares/share_state.h"

#include <algorithm>
#include <map>

namespace ferry::broker {

namespace {

constexpr char version = 1;

void put_varint(std::string& out, uint64_t v) {
  while (v >= 0x80) {
    out += static_cast<char>((v & 0x7F) | 0x80);
    v >>= 7;
  }
  out += static_cast<char>(v);
}

struct varint_reader {
  std::string_view in;
  bool ok = true;
  uint64_t next() {
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (in.empty()) break;
      const auto b = static_cast<uint8_t>(in.front());
      in.remove_prefix(1);
      v |= static_cast<uint64_t>(b & 0x7F) << shift;
      if ((b & 0x80) == 0) return v;
    }
    ok = false;
    return 0;
  }
};

}  // namespace

bool share_state::done(uint64_t offset) const {
  if (offset < low_) return true;
  auto it = std::upper_bound(done_.begin(), done_.end(), offset,
                             [](uint64_t o, const auto& r) { return o < r.first; });
  return it != done_.begin() && offset < std::prev(it)->second;
}

uint32_t share_state::delivered_count(uint64_t offset) const {
  if (offset >= read_ || done(offset)) return 0;
  auto it = counts_.find(offset);
  return it == counts_.end() ? 1 : it->second;
}

void share_state::delivered(uint64_t offset, uint32_t count) {
  if (done(offset)) return;
  read_ = std::max(read_, offset + 1);
  if (count > 1) counts_[offset] = count;
}

void share_state::finish(uint64_t offset) {
  if (done(offset)) return;
  counts_.erase(offset);
  read_ = std::max(read_, offset + 1);
  // Insert [offset, offset + 1), merged with the ranges it touches.
  auto it = std::lower_bound(done_.begin(), done_.end(), offset,
                             [](const auto& r, uint64_t o) { return r.first < o; });
  const bool joins_next = it != done_.end() && it->first == offset + 1;
  const bool joins_prev = it != done_.begin() && std::prev(it)->second == offset;
  if (joins_prev && joins_next) {
    std::prev(it)->second = it->second;
    done_.erase(it);
  } else if (joins_prev) {
    std::prev(it)->second = offset + 1;
  } else if (joins_next) {
    it->first = offset;
  } else {
    done_.insert(it, {offset, offset + 1});
  }
  advance_low();
}

void share_state::skip_to(uint64_t start) {
  if (start <= low_) return;
  low_ = start;
  read_ = std::max(read_, start);
  advance_low();
  boost::unordered::erase_if(counts_, [&](const auto& kv) { return kv.first < low_; });
}

void share_state::advance_low() {
  // Ranges wholly below low go; one that starts at (or below) low carries it to its end.
  size_t drop = 0;
  while (drop < done_.size() && done_[drop].first <= low_) {
    low_ = std::max(low_, done_[drop].second);
    ++drop;
  }
  done_.erase(done_.begin(), done_.begin() + static_cast<std::ptrdiff_t>(drop));
}

// Version, low, read mark - low, the ranges as (gap from the previous end, length), the
// counts as (offset - low, count) in offset order: varints throughout.
std::string share_state::encode() const {
  std::string out;
  out.reserve(16 + 4 * done_.size() + 4 * counts_.size());
  out += version;
  put_varint(out, low_);
  put_varint(out, read_ - low_);
  put_varint(out, done_.size());
  uint64_t at = low_;
  for (const auto& [first, end] : done_) {
    put_varint(out, first - at);
    put_varint(out, end - first);
    at = end;
  }
  std::map<uint64_t, uint32_t> ordered(counts_.begin(), counts_.end());
  put_varint(out, ordered.size());
  for (const auto& [offset, count] : ordered) {
    put_varint(out, offset - low_);
    put_varint(out, count);
  }
  return out;
}

bool share_state::decode(std::string_view bytes, share_state& out) {
  if (bytes.empty() || bytes.front() != version) return false;
  varint_reader r{bytes.substr(1)};
  share_state s;
  s.low_ = r.next();
  s.read_ = s.low_ + r.next();
  const uint64_t ranges = r.next();
  uint64_t at = s.low_;
  for (uint64_t i = 0; r.ok && i < ranges; ++i) {
    const uint64_t first = at + r.next();
    const uint64_t len = r.next();
    // Apart and above low: a gap of at least one, except before the first range.
    if (len == 0 || (i != 0 && first == at) || first <= s.low_) return false;
    s.done_.emplace_back(first, first + len);
    at = first + len;
  }
  const uint64_t counts = r.next();
  for (uint64_t i = 0; r.ok && i < counts; ++i) {
    const uint64_t offset = s.low_ + r.next();
    s.counts_[offset] = static_cast<uint32_t>(r.next());
  }
  if (!r.ok || !r.in.empty() || s.read_ < s.low_) return false;
  out = std::move(s);
  return true;
}

bool share_state::operator==(const share_state& o) const {
  return low_ == o.low_ && read_ == o.read_ && done_ == o.done_ && counts_ == o.counts_;
}

}  // namespace ferry::broker
