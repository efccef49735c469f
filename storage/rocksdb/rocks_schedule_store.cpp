#include "storage/rocksdb/rocks_schedule_store.h"

#include <memory>

#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include "storage/rocksdb/rocks_status.h"

namespace ferry::storage {

ferry::error rocks_schedule_store::apply(std::span<const schedule_entry> add,
                                         std::span<const schedule_key> remove) {
  rocksdb::WriteBatch batch;
  for (const auto& e : add)
    if (auto s = batch.Put(cf_, encode_schedule_key(e.key), e.value); !s.ok())
      return to_error(s, "schedule batch");
  for (const auto& k : remove)
    if (auto s = batch.Delete(cf_, encode_schedule_key(k)); !s.ok())
      return to_error(s, "schedule batch");
  rocksdb::WriteOptions wo;
  wo.sync = true;
  return to_error(db_->Write(wo, &batch), "schedule write");
}

ferry::error rocks_schedule_store::scan(
    const schedule_key& from, int64_t until_ms,
    const std::function<bool(const schedule_key&, std::string_view)>& fn) {
  if (until_ms < from.due_ms) return {};
  // Exclusive: the first key due after until_ms.
  const std::string upper = until_ms == INT64_MAX ? std::string(schedule_key_bytes, '\xff')
                                                  : encode_schedule_key({until_ms + 1, 0});
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

}  // namespace ferry::storage
