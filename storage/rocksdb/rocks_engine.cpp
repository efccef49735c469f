#include <filesystem>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "storage/engine.h"
#include "storage/rocksdb/rocks_log_store.h"
#include "storage/rocksdb/rocks_options.h"
#include "storage/rocksdb/rocks_status.h"

namespace ferry::storage {
namespace {

const char* const column_families[] = {rocksdb::kDefaultColumnFamilyName.c_str(), "meta", "log"};
enum cf_index { cf_default = 0, cf_meta = 1, cf_log = 2 };

class rocks_meta_store final : public meta_store {
 public:
  rocks_meta_store(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) : db_(db), cf_(cf) {}

  ferry::error apply(std::span<const meta_change> changes) override {
    rocksdb::WriteBatch batch;
    for (const auto& c : changes) {
      auto s = c.value ? batch.Put(cf_, c.key, *c.value) : batch.Delete(cf_, c.key);
      if (!s.ok()) return to_error(s, "meta batch");
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return to_error(db_->Write(wo, &batch), "meta write");
  }
  ferry::error put(std::string_view key, std::string_view value) override {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return to_error(db_->Put(wo, cf_, key, value), "meta put");
  }
  ferry::error erase(std::string_view key) override {
    rocksdb::WriteOptions wo;
    wo.sync = true;
    return to_error(db_->Delete(wo, cf_, key), "meta delete");
  }
  ferry::error scan(std::string_view prefix,
                    const std::function<void(std::string_view, std::string_view)>& fn) override {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions(), cf_));
    for (it->Seek(prefix); it->Valid() && it->key().starts_with(prefix); it->Next())
      fn(it->key().ToStringView(), it->value().ToStringView());
    return to_error(it->status(), "meta scan");
  }

 private:
  rocksdb::DB* db_;
  rocksdb::ColumnFamilyHandle* cf_;
};

class rocks_engine final : public engine {
 public:
  rocks_engine(std::unique_ptr<rocksdb::DB> db, std::vector<rocksdb::ColumnFamilyHandle*> handles)
      : db_(std::move(db)),
        handles_(std::move(handles)),
        meta_(db_.get(), handles_[cf_meta]),
        log_(db_.get(), handles_[cf_log], handles_[cf_meta]) {}
  ~rocks_engine() override {
    for (auto* h : handles_)
      (void)db_->DestroyColumnFamilyHandle(h);
    (void)db_->Close();
  }
  meta_store& meta() override { return meta_; }
  log_store& log() override { return log_; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocks_meta_store meta_;
  rocks_log_store log_;
};

}  // namespace

std::unique_ptr<engine> open_rocks_engine(const engine_options& opts, ferry::error& err) {
  std::string path = opts.data_dir + "/rocksdb";
  std::error_code fs_ec;
  // RocksDB's own directory too when it may be created: else RocksDB logs an error for
  // the missing directory before creating it.
  std::filesystem::create_directories(opts.create_if_missing ? path : opts.data_dir, fs_ec);
  if (fs_ec) {
    err = {make_error_code(errc::storage_error),
           "cannot create data dir '" + opts.data_dir + "': " + fs_ec.message()};
    return nullptr;
  }
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : column_families)
    cfs.emplace_back(name, name == column_families[cf_log] ? log_cf_options() : meta_cf_options());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto s = rocksdb::DB::Open(db_options(opts.create_if_missing), path, cfs, &handles, &raw);
  if (!s.ok()) {
    err = to_error(s, "cannot open RocksDB at '" + path + "'");
    return nullptr;
  }
  return std::make_unique<rocks_engine>(std::unique_ptr<rocksdb::DB>(raw), std::move(handles));
}

}  // namespace ferry::storage
