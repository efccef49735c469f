#include "storage/rocksdb/rocks_schedule_store.h"

#include <memory>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "storage/rocksdb/rocks_status.h"

namespace ferry::storage {

namespace {

// Group keys sort after every due key (whose first byte is at most 0x7f).
constexpr char group_tag = '\x80';

std::string group_prefix(std::string_view group) {
  std::string k;
  k.reserve(2 + group.size() + schedule_key_bytes);
  k += group_tag;
  k += group;
  k += '\0';
  return k;
}

std::string group_key(std::string_view group, const schedule_key& key) {
  return group_prefix(group) + encode_schedule_key(key);
}

}  // namespace

ferry::error rocks_schedule_store::apply(std::span<const schedule_entry> add,
                                         std::span<const schedule_ref> remove) {
  rocksdb::WriteBatch batch;
  for (const auto& e : add) {
    if (auto s = batch.Put(cf_, encode_schedule_key(e.key), e.value); !s.ok())
      return to_error(s, "schedule batch");
    if (auto s = batch.Put(cf_, group_key(e.group, e.key), {}); !s.ok())
      return to_error(s, "schedule batch");
  }
  for (const auto& r : remove) {
    if (auto s = batch.Delete(cf_, encode_schedule_key(r.key)); !s.ok())
      return to_error(s, "schedule batch");
    if (auto s = batch.Delete(cf_, group_key(r.group, r.key)); !s.ok())
      return to_error(s, "schedule batch");
  }
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return to_error(db_->Write(wo, &batch), "schedule write");
}

ferry::error rocks_schedule_store::scan(const schedule_key& from, int64_t until_ms,
                                        const schedule_visit& fn) {
  if (until_ms < from.due_ms) return {};
  // Exclusive: the first key due after until_ms, or the group keys.
  const std::string upper =
      until_ms == INT64_MAX ? std::string(1, group_tag) : encode_schedule_key({until_ms + 1, 0});
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  for (it->Seek(encode_schedule_key(from)); it->Valid(); it->Next()) {
    schedule_key k;
    if (!decode_schedule_key(it->key().ToStringView(), k))
      return {make_error_code(errc::storage_error), "schedule: a key that is not 16 bytes"};
    if (!fn(k, it->value().ToStringView())) break;
  }
  return to_error(it->status(), "schedule scan");
}

ferry::error rocks_schedule_store::scan_group(std::string_view group, const schedule_key& from,
                                              const schedule_visit& fn) {
  const std::string prefix = group_prefix(group);
  std::string upper = prefix;
  upper.back() = '\x01';  // just past every key of the group
  rocksdb::Slice upper_slice(upper);
  rocksdb::ReadOptions ro;
  ro.iterate_upper_bound = &upper_slice;
  std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(ro, cf_));
  std::string value;
  for (it->Seek(prefix + encode_schedule_key(from)); it->Valid(); it->Next()) {
    schedule_key k;
    if (!decode_schedule_key(it->key().ToStringView().substr(prefix.size()), k))
      return {make_error_code(errc::storage_error), "schedule: a group key of the wrong size"};
    bool found = false;
    if (auto err = get(k, value, found)) return err;
    if (found && !fn(k, value)) break;  // (not found: removed since the iterator was made)
  }
  return to_error(it->status(), "schedule group scan");
}

ferry::error rocks_schedule_store::get(const schedule_key& key, std::string& value, bool& found) {
  auto s = db_->Get(rocksdb::ReadOptions(), cf_, encode_schedule_key(key), &value);
  found = s.ok();
  if (s.IsNotFound()) return {};
  return to_error(s, "schedule get");
}

}  // namespace ferry::storage
