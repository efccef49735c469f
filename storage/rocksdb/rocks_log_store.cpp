// rocks_log_store: writes (append, truncation, drop) and producer state.
#include "storage/rocksdb/rocks_log_store.h"

#include <rocksdb/write_batch.h>

#include "storage/log/append_check.h"
#include "storage/rocksdb/rocks_status.h"

namespace ferry::storage {
namespace {

constexpr uint8_t producer_format_version = 1;
constexpr size_t producer_header_bytes = 1 + 3 * 8;

void put_le64(std::string& out, uint64_t v) {
  for (int i = 0; i < 8; ++i, v >>= 8)
    out.push_back(static_cast<char>(v & 0xff));
}
uint64_t get_le64(const char* in) {
  uint64_t v = 0;
  for (int i = 7; i >= 0; --i)
    v = (v << 8) | static_cast<uint8_t>(in[i]);
  return v;
}

ferry::error corrupt(std::string_view what, partition_id pid) {
  return {make_error_code(errc::storage_error), about_partition(what, pid)};
}

// Producer value: version (1), last_sequence, last_offset, last_seen_ms (u64 LE each),
// then `recent` as is, to the end of the value.
std::string encode_producer(const producer_state& p) {
  std::string v;
  v.reserve(producer_header_bytes + p.recent.size());
  v.push_back(static_cast<char>(producer_format_version));
  put_le64(v, p.last_sequence);
  put_le64(v, p.last_offset);
  put_le64(v, static_cast<uint64_t>(p.last_seen_ms));
  v.append(p.recent);
  return v;
}
bool decode_producer(std::string_view v, producer_state& p) {
  if (v.size() < producer_header_bytes || v[0] != producer_format_version) return false;
  p.last_sequence = get_le64(v.data() + 1);
  p.last_offset = get_le64(v.data() + 9);
  p.last_seen_ms = static_cast<int64_t>(get_le64(v.data() + 17));
  p.recent = v.substr(producer_header_bytes);
  return true;
}

// The smallest key greater than every key starting with `prefix`. `prefix` has a byte
// below 0xff ("producer/" does), so it exists.
std::string prefix_end(std::string prefix) {
  while (!prefix.empty() && static_cast<uint8_t>(prefix.back()) == 0xff)
    prefix.pop_back();
  if (!prefix.empty()) prefix.back() = static_cast<char>(static_cast<uint8_t>(prefix.back()) + 1);
  return prefix;
}

std::string with_pid(const char* kind, partition_id pid) {
  std::string k(kind);
  auto key = rocks_keys::log(pid, 0);
  k.append(key.data(), 8);  // topic BE + partition BE, as in the log key
  return k;
}

}  // namespace

std::string about_partition(std::string_view what, partition_id pid) {
  std::string s(what);
  s.append(" partition ").append(std::to_string(pid.topic));
  s.append("/").append(std::to_string(pid.partition));
  return s;
}

namespace rocks_keys {
std::string log_start(partition_id pid) {
  return with_pid("logstart/", pid);
}
std::string producer_prefix(partition_id pid) {
  return with_pid("producer/", pid);
}
}  // namespace rocks_keys

ferry::error rocks_log_store::append(std::span<const partition_append* const> batch, bool sync) {
  size_t reserve = 0, records = 0;
  for (const auto* a : batch) {
    if (auto err = check_append(*a)) return err;
    reserve += a->data.size() + a->count() * (log_key_bytes + 8);
    records += a->count();
  }
  rocksdb::WriteBatch wb(reserve);
  for (const auto* a : batch) {
    for (size_t i = 0; i < a->count(); ++i) {
      auto key = rocks_keys::log(a->pid, a->first_offset + i);
      auto s = wb.Put(log_cf_, rocks_keys::slice(key), a->value(i));
      if (!s.ok()) return to_error(s, "log append: batching a record");
    }
    for (const auto& p : a->producers) {
      auto key = rocks_keys::producer_prefix(a->pid).append(p.producer_id);
      auto s = wb.Put(meta_cf_, key, encode_producer(p));
      if (!s.ok()) return to_error(s, "log append: batching producer state");
    }
  }
  rocksdb::WriteOptions wo;
  wo.sync = sync;
  auto s = db_->Write(wo, &wb);
  if (s.ok()) return {};
  std::string what = "log append of ";
  what.append(std::to_string(records)).append(" records to ");
  what.append(std::to_string(batch.size())).append(" partitions");
  return to_error(s, what);
}

ferry::error rocks_log_store::sync_wal() {
  return to_error(db_->SyncWAL(), "log WAL sync");
}

ferry::error rocks_log_store::stored_log_start(partition_id pid, uint64_t& out) {
  out = 0;
  std::string v;
  auto s = db_->Get(rocksdb::ReadOptions(), meta_cf_, rocks_keys::log_start(pid), &v);
  if (s.IsNotFound()) return {};
  if (!s.ok()) return to_error(s, about_partition("reading the log start of", pid));
  if (v.size() != 8) return corrupt("corrupt log start of", pid);
  out = get_le64(v.data());
  return {};
}

ferry::error rocks_log_store::truncate_prefix(partition_id pid, uint64_t new_start) {
  std::lock_guard lock(truncate_mu_);
  uint64_t stored = 0;
  if (auto err = stored_log_start(pid, stored)) return err;
  // The log start never moves back: with no records left, it is the next offset, and
  // lowering it would hand out offsets again.
  if (new_start <= stored) return {};
  auto from = rocks_keys::log(pid, 0);  // the range below `stored` is already empty
  auto to = rocks_keys::log(pid, new_start);
  std::string start_value;
  put_le64(start_value, new_start);
  rocksdb::WriteBatch wb;
  auto s = wb.DeleteRange(log_cf_, rocks_keys::slice(from), rocks_keys::slice(to));
  if (s.ok()) s = wb.Put(meta_cf_, rocks_keys::log_start(pid), start_value);
  if (!s.ok()) return to_error(s, "log truncation: batching");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return to_error(db_->Write(wo, &wb), about_partition("log truncation of", pid));
}

ferry::error rocks_log_store::drop_partition(partition_id pid) {
  std::lock_guard lock(truncate_mu_);
  auto from = rocks_keys::log(pid, 0);
  auto to = rocks_keys::log_end(pid);
  auto producers = rocks_keys::producer_prefix(pid);
  rocksdb::WriteBatch wb;
  auto s = wb.DeleteRange(log_cf_, rocks_keys::slice(from), rocks_keys::slice(to));
  if (s.ok()) s = wb.Delete(meta_cf_, rocks_keys::log_start(pid));
  if (s.ok()) s = wb.DeleteRange(meta_cf_, producers, prefix_end(producers));
  if (!s.ok()) return to_error(s, "dropping a partition: batching");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return to_error(db_->Write(wo, &wb), about_partition("dropping", pid));
}

ferry::error rocks_log_store::load_producers(partition_id pid, std::vector<producer_state>& out) {
  out.clear();
  auto prefix = rocks_keys::producer_prefix(pid);
  auto end = prefix_end(prefix);
  rocksdb::Slice upper(end);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, meta_cf_));
  for (it->Seek(prefix); it->Valid(); it->Next()) {
    producer_state p;
    p.producer_id = it->key().ToStringView().substr(prefix.size());
    if (!decode_producer(it->value().ToStringView(), p))
      return corrupt("corrupt producer state of", pid);
    out.push_back(std::move(p));
  }
  return to_error(it->status(), about_partition("loading the producers of", pid));
}

}  // namespace ferry::storage
