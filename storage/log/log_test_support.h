// Helpers shared by the storage tests (test code only).
#pragma once

#include <filesystem>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include "storage/log_store.h"
#include "storage/record_codec.h"

namespace ferry::storage::testing {

// A fresh directory under the system temp dir; the caller removes it.
inline std::string temp_dir(std::string_view tag) {
  std::random_device rd;
  std::string name = "ferry-";
  name.append(tag).append("-").append(std::to_string(rd()));
  auto p = std::filesystem::temp_directory_path() / name;
  std::filesystem::create_directories(p);
  return p.string();
}

inline producer_state producer(std::string id, uint64_t last_sequence, uint64_t last_offset,
                               int64_t last_seen_ms, std::string recent = {}) {
  producer_state p;
  p.producer_id = std::move(id);
  p.last_sequence = last_sequence;
  p.last_offset = last_offset;
  p.last_seen_ms = last_seen_ms;
  p.recent = std::move(recent);
  return p;
}

inline bool same_producer(const producer_state& a, const producer_state& b) {
  return a.producer_id == b.producer_id && a.last_sequence == b.last_sequence &&
         a.last_offset == b.last_offset && a.last_seen_ms == b.last_seen_ms && a.recent == b.recent;
}

// (timestamp_ms, message) of one record.
using record_spec = std::pair<int64_t, std::string>;

inline partition_append make_append(partition_id pid, uint64_t first_offset,
                                    const std::vector<record_spec>& records,
                                    std::vector<producer_state> producers = {}) {
  partition_append a;
  a.pid = pid;
  a.first_offset = first_offset;
  for (const auto& [ts, msg] : records) {
    encode_record(a.data, ts, msg);
    a.ends.push_back(static_cast<uint32_t>(a.data.size()));
  }
  a.producers = std::move(producers);
  return a;
}

// `n` records of `bytes` each (filled with 'a' + offset % 26), timestamps = offset.
inline partition_append records(partition_id pid, uint64_t first, size_t n, size_t bytes) {
  std::vector<record_spec> recs;
  for (size_t i = 0; i < n; ++i)
    recs.emplace_back(first + i, std::string(bytes, static_cast<char>('a' + (first + i) % 26)));
  return make_append(pid, first, recs);
}

inline ferry::error append_one(log_store& s, const partition_append& a, bool sync = false) {
  const partition_append* batch[] = {&a};
  return s.append(batch, sync);
}

// A record read back, decoded.
struct read_record {
  uint64_t offset;
  int64_t ts;
  std::string message;
  bool operator==(const read_record&) const = default;
};

inline ferry::error read_decoded(log_store& s, partition_id pid, uint64_t from, size_t max_records,
                                 size_t max_bytes, std::vector<read_record>& out) {
  std::vector<uint8_t> buffer;
  std::vector<stored_record> recs;
  out.clear();
  auto err = s.read(pid, from, max_records, max_bytes, buffer, recs);
  for (const auto& r : recs) {
    auto v = decode_record(r.value);
    if (!v) return {make_error_code(errc::internal), "undecodable record"};
    out.push_back({r.offset, v->timestamp_ms, std::string(v->message)});
  }
  return err;
}

}  // namespace ferry::storage::testing
