#include "storage/memory/memory_log_store.h"

#include <algorithm>

#include "storage/log/append_check.h"
#include "storage/record_codec.h"

namespace ferry::storage {

ferry::error memory_log_store::append(std::span<const partition_append* const> batch, bool) {
  std::lock_guard lock(mu_);
  if (write_error_) return write_error_;
  for (const auto* a : batch)  // all checked first: the batch is all or nothing
    if (auto err = check_append(*a)) return err;
  for (const auto* a : batch) {
    auto& p = partitions_[a->pid];
    for (size_t i = 0; i < a->count(); ++i) {
      auto& value = p.records[a->first_offset + i];
      p.bytes -= value.size();
      value = a->value(i);
      p.bytes += value.size();
    }
    for (const auto& prod : a->producers)
      p.producers[prod.producer_id] = prod;
  }
  return {};
}

ferry::error memory_log_store::sync_wal() {
  std::lock_guard lock(mu_);
  return write_error_;
}

// Same rules as rocks_log_store::read: records from exactly `from`, OFFSET_OUT_OF_RANGE
// when `from` is below the first record, nothing when it is at or past the last.
ferry::error memory_log_store::read(partition_id pid, uint64_t from, size_t max_records,
                                    size_t max_bytes, std::vector<uint8_t>& buffer,
                                    std::vector<stored_record>& out) {
  buffer.clear();
  out.clear();
  std::lock_guard lock(mu_);
  auto pit = partitions_.find(pid);
  if (max_records == 0 || pit == partitions_.end()) return {};
  const auto& records = pit->second.records;
  auto it = records.lower_bound(from);
  if (it == records.end()) return {};
  if (it->first != from) {
    std::string msg = "reading below the log start: offset ";
    msg.append(std::to_string(from)).append(" < ").append(std::to_string(it->first));
    return {make_error_code(errc::offset_out_of_range), std::move(msg)};
  }
  std::vector<size_t> ends;
  size_t bytes = 0;
  for (; it != records.end() && it->first == from + ends.size(); ++it) {
    const auto* p = reinterpret_cast<const uint8_t*>(it->second.data());
    buffer.insert(buffer.end(), p, p + it->second.size());
    ends.push_back(buffer.size());
    bytes += it->second.size();
    if (ends.size() >= max_records || bytes >= max_bytes) break;
  }
  size_t begin = 0;
  for (size_t i = 0; i < ends.size(); ++i) {
    out.push_back(
        {from + i, {reinterpret_cast<const char*>(buffer.data()) + begin, ends[i] - begin}});
    begin = ends[i];
  }
  return {};
}

partition_bounds memory_log_store::bounds_of(const partition& p) {
  if (p.records.empty()) return {p.log_start, p.log_start, 0};
  uint64_t start = std::max(p.records.begin()->first, p.log_start);
  uint64_t next = std::max(p.records.rbegin()->first + 1, start);
  return {start, next, p.bytes};
}

ferry::error memory_log_store::bounds(partition_id pid, partition_bounds& out) {
  std::lock_guard lock(mu_);
  auto it = partitions_.find(pid);
  out = it == partitions_.end() ? partition_bounds{} : bounds_of(it->second);
  return {};
}

// A linear scan: the obvious answer, against which the RocksDB binary search is tested.
ferry::error memory_log_store::offset_for_time(partition_id pid, int64_t ts_ms, uint64_t& out) {
  std::lock_guard lock(mu_);
  out = 0;
  auto pit = partitions_.find(pid);
  if (pit == partitions_.end()) return {};
  out = bounds_of(pit->second).next;
  for (const auto& [offset, value] : pit->second.records) {
    auto rec = decode_record(value);
    if (!rec) return {make_error_code(errc::storage_error), "corrupt record"};
    if (rec->timestamp_ms >= ts_ms) {
      out = offset;
      break;
    }
  }
  return {};
}

ferry::error memory_log_store::truncate_prefix(partition_id pid, uint64_t new_start) {
  std::lock_guard lock(mu_);
  auto& p = partitions_[pid];
  if (new_start <= p.log_start) return {};  // the log start never moves back
  p.log_start = new_start;
  auto end = p.records.lower_bound(new_start);
  for (auto it = p.records.begin(); it != end; ++it)
    p.bytes -= it->second.size();
  p.records.erase(p.records.begin(), end);
  return {};
}

ferry::error memory_log_store::drop_partition(partition_id pid) {
  std::lock_guard lock(mu_);
  partitions_.erase(pid);
  return {};
}

ferry::error memory_log_store::load_producers(partition_id pid, std::vector<producer_state>& out) {
  std::lock_guard lock(mu_);
  out.clear();
  auto it = partitions_.find(pid);
  if (it == partitions_.end()) return {};
  for (const auto& [id, state] : it->second.producers)
    out.push_back(state);
  return {};
}

void memory_log_store::fail_writes_for_test(ferry::error err) {
  std::lock_guard lock(mu_);
  write_error_ = std::move(err);
}

}  // namespace ferry::storage
