// rocks_log_store: reads (records, bounds, time lookup).
#include <algorithm>

#include "storage/rocksdb/rocks_log_store.h"
#include "storage/rocksdb/rocks_status.h"

namespace ferry::storage {
namespace {

// bounds() sums the value sizes of a partition this small instead of estimating them.
constexpr uint64_t exact_bytes_max_records = 1024;
// Larger partitions: the mean value size of this many records, times the count.
constexpr uint64_t size_sample_records = 32;
// The buffer is reserved up to this much before reading; past it, it grows as needed.
constexpr size_t max_reserve_bytes = 8 << 20;

// Iterator bounds over the keys of one partition from `from`.
struct partition_range {
  rocks_keys::log_key_bytes_t lower_key, upper_key;
  rocksdb::Slice lower, upper;
  partition_range(partition_id pid, uint64_t from)
      : lower_key(rocks_keys::log(pid, from)),
        upper_key(rocks_keys::log_end(pid)),
        lower(rocks_keys::slice(lower_key)),
        upper(rocks_keys::slice(upper_key)) {}
  partition_range(const partition_range&) = delete;
  void apply(rocksdb::ReadOptions& ro) const {
    ro.iterate_lower_bound = &lower;
    ro.iterate_upper_bound = &upper;
  }
};

ferry::error corrupt_key(partition_id pid) {
  return {make_error_code(errc::storage_error), about_partition("corrupt log key in", pid)};
}

}  // namespace

// Values are copied as they come, with their end positions noted, and the views into
// `buffer` are made at the end, once it no longer reallocates.
ferry::error rocks_log_store::read(partition_id pid, uint64_t from, size_t max_records,
                                   size_t max_bytes, std::vector<uint8_t>& buffer,
                                   std::vector<stored_record>& out) {
  buffer.clear();
  out.clear();
  if (max_records == 0) return {};
  partition_range range(pid, from);
  rocksdb::ReadOptions ro;
  range.apply(ro);
  // Readers at the tail are served by the memtables (up to 4 x 128 MiB); a read that
  // reaches SST files streams through data behind the tail, so it goes through the OS
  // page cache without churning the block cache. Readahead is RocksDB's adaptive one
  // (rocks_options.cpp), which small reads never trigger.
  ro.fill_cache = false;
  buffer.reserve(std::min(max_bytes, max_reserve_bytes));
  std::vector<size_t> ends;
  size_t bytes = 0;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next()) {
    auto key = decode_log_key(it->key().ToStringView());
    if (!key) return corrupt_key(pid);
    if (key->offset != from + ends.size()) {
      if (!ends.empty()) break;  // a gap: never return records out of order
      // `from` itself is gone: retention removed it (from < log start).
      std::string msg = about_partition("reading", pid);
      msg.append(": offset ").append(std::to_string(from));
      msg.append(" is below the log start ").append(std::to_string(key->offset));
      return {make_error_code(errc::offset_out_of_range), std::move(msg)};
    }
    auto v = it->value();
    const auto* p = reinterpret_cast<const uint8_t*>(v.data());
    buffer.insert(buffer.end(), p, p + v.size());
    ends.push_back(buffer.size());
    bytes += v.size();
    if (ends.size() >= max_records || bytes >= max_bytes) break;
  }
  if (auto err = to_error(it->status(), "log read")) return err;
  out.reserve(ends.size());
  size_t begin = 0;
  for (size_t i = 0; i < ends.size(); ++i) {
    std::string_view value(reinterpret_cast<const char*>(buffer.data()) + begin, ends[i] - begin);
    out.push_back({from + i, value});
    begin = ends[i];
  }
  return {};
}

ferry::error rocks_log_store::offset_range(partition_id pid, uint64_t& start, uint64_t& next) {
  uint64_t stored = 0;
  if (auto err = stored_log_start(pid, stored)) return err;
  start = next = stored;
  partition_range range(pid, 0);
  rocksdb::ReadOptions ro;
  range.apply(ro);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  it->SeekToFirst();
  if (!it->Valid()) return to_error(it->status(), "log bounds: first key");
  auto first = decode_log_key(it->key().ToStringView());
  it->SeekToLast();  // with the upper bound set: the last key of the partition
  if (!it->Valid()) return to_error(it->status(), "log bounds: last key");
  auto last = decode_log_key(it->key().ToStringView());
  if (!first || !last) return corrupt_key(pid);
  start = std::max(first->offset, stored);
  next = std::max(last->offset + 1, start);
  return {};
}

// bytes: the sum of the value sizes, which the broker keeps adding to as it appends. Up
// to exact_bytes_max_records records it is exact (a short scan); past that, estimated
// from a sample (estimate_value_bytes): 32 seeks per partition at recovery, not a scan.
ferry::error rocks_log_store::bounds(partition_id pid, partition_bounds& out) {
  out = {};
  if (auto err = offset_range(pid, out.start, out.next)) return err;
  if (out.start == out.next) return {};
  if (out.next - out.start <= exact_bytes_max_records) return sum_value_bytes(pid, out);
  return estimate_value_bytes(pid, out);
}

// Offsets are dense, so the count is exact; the mean value size comes from records
// sampled at the middles of equal slices of the range. Not RocksDB's own size estimates:
// those count SST bytes compressed, and every topic's partitions share the SST files, so
// no compression ratio turns them back into value bytes reliably.
ferry::error rocks_log_store::estimate_value_bytes(partition_id pid, partition_bounds& out) {
  partition_range range(pid, out.start);
  rocksdb::ReadOptions ro;
  range.apply(ro);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  const double count = static_cast<double>(out.next - out.start);
  double sampled = 0, sampled_bytes = 0;
  for (uint64_t i = 0; i < size_sample_records; ++i) {
    double at = count * static_cast<double>(2 * i + 1) / (2.0 * size_sample_records);
    auto key = rocks_keys::log(pid, out.start + static_cast<uint64_t>(at));
    it->Seek(rocks_keys::slice(key));  // forward only: blocks are read in order
    if (!it->Valid()) break;           // truncated meanwhile
    sampled_bytes += static_cast<double>(it->value().size());
    sampled += 1;
  }
  if (auto err = to_error(it->status(), "log bounds: sampling sizes")) return err;
  if (sampled > 0) out.bytes = static_cast<uint64_t>(sampled_bytes / sampled * count);
  return {};
}

ferry::error rocks_log_store::sum_value_bytes(partition_id pid, partition_bounds& out) {
  partition_range range(pid, out.start);
  rocksdb::ReadOptions ro;
  range.apply(ro);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  for (it->SeekToFirst(); it->Valid(); it->Next())
    out.bytes += it->value().size();
  return to_error(it->status(), "log bounds: summing sizes");
}

// A binary search over [start, next) with one Seek per step. A record missing at its
// offset was removed by a truncation meanwhile; it was older than anything after it.
ferry::error rocks_log_store::offset_for_time(partition_id pid, int64_t ts_ms, uint64_t& out) {
  uint64_t lo = 0, hi = 0;
  if (auto err = offset_range(pid, lo, hi)) return err;
  partition_range range(pid, lo);
  rocksdb::ReadOptions ro;
  range.apply(ro);
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, log_cf_));
  while (lo < hi) {
    uint64_t mid = lo + (hi - lo) / 2;
    auto key = rocks_keys::log(pid, mid);
    it->Seek(rocks_keys::slice(key));
    if (!it->Valid()) {
      if (auto err = to_error(it->status(), "log time lookup")) return err;
      lo = mid + 1;
      continue;
    }
    auto k = decode_log_key(it->key().ToStringView());
    if (!k) return corrupt_key(pid);
    if (k->offset != mid) {
      lo = mid + 1;
      continue;
    }
    auto rec = decode_record(it->value().ToStringView());
    if (!rec)
      return {make_error_code(errc::storage_error), about_partition("corrupt record in", pid)};
    if (rec->timestamp_ms >= ts_ms) {
      hi = mid;
    } else {
      lo = mid + 1;
    }
  }
  out = lo;
  return {};
}

}  // namespace ferry::storage
