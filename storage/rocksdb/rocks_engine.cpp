#include <filesystem>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "storage/engine.h"

namespace ferry::storage {
namespace {

// rocksdb::Status -> ferry::error, at the storage edge. Every status goes through here.
ferry::error to_error(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return {};
  auto code = s.IsNoSpace() || s.subcode() == rocksdb::Status::kNoSpace ? errc::disk_full
                                                                        : errc::storage_error;
  return {make_error_code(code), std::string(what) + ": " + s.ToString()};
}

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
      : db_(std::move(db)), handles_(std::move(handles)), meta_(db_.get(), handles_[cf_meta]) {}
  ~rocks_engine() override {
    for (auto* h : handles_)
      (void)db_->DestroyColumnFamilyHandle(h);
    (void)db_->Close();
  }
  meta_store& meta() override { return meta_; }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocks_meta_store meta_;
};

}  // namespace

std::unique_ptr<engine> open_rocks_engine(const engine_options& opts, ferry::error& err) {
  std::error_code fs_ec;
  std::filesystem::create_directories(opts.data_dir, fs_ec);
  if (fs_ec) {
    err = {make_error_code(errc::storage_error),
           "cannot create data dir '" + opts.data_dir + "': " + fs_ec.message()};
    return nullptr;
  }
  rocksdb::DBOptions db_opts;
  db_opts.create_if_missing = opts.create_if_missing;
  db_opts.create_missing_column_families = true;
  db_opts.info_log_level = rocksdb::WARN_LEVEL;
  db_opts.keep_log_file_num = 3;
  std::vector<rocksdb::ColumnFamilyDescriptor> cfs;
  for (const char* name : column_families)
    cfs.emplace_back(name, rocksdb::ColumnFamilyOptions());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  std::string path = opts.data_dir + "/rocksdb";
  auto s = rocksdb::DB::Open(db_opts, path, cfs, &handles, &raw);
  if (!s.ok()) {
    err = to_error(s, "cannot open RocksDB at '" + path + "'");
    return nullptr;
  }
  return std::make_unique<rocks_engine>(std::unique_ptr<rocksdb::DB>(raw), std::move(handles));
}

}  // namespace ferry::storage
