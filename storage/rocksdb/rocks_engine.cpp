#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <vector>

#include <rocksdb/db.h>
#include <rocksdb/listener.h>
#include <rocksdb/options.h>
#include <rocksdb/write_batch.h>

#include "storage/engine.h"
#include "storage/rocksdb/rocks_log_store.h"
#include "storage/rocksdb/rocks_options.h"
#include "storage/rocksdb/rocks_schedule_store.h"
#include "storage/rocksdb/rocks_status.h"

namespace ferry::storage {
namespace {

const char* const column_families[] = {rocksdb::kDefaultColumnFamilyName.c_str(), "meta", "log",
                                       "schedule"};
enum cf_index { cf_default = 0, cf_meta = 1, cf_log = 2, cf_schedule = 3 };

const char* stall_name(rocksdb::WriteStallCondition c) {
  switch (c) {
    case rocksdb::WriteStallCondition::kNormal: return "none";
    case rocksdb::WriteStallCondition::kDelayed: return "delayed";
    case rocksdb::WriteStallCondition::kStopped: return "stopped";
  }
  return "?";
}

// Says when a column family starts or stops stalling writes (RocksDB's own lines name the
// L0 count only when a stall is computed, at warn level, and never its end). Called by
// RocksDB's threads: no DB calls here.
class stall_listener final : public rocksdb::EventListener {
 public:
  void OnStallConditionsChanged(const rocksdb::WriteStallInfo& info) override {
    std::fprintf(stderr, "rocksdb: [%s] write stall: %s -> %s\n", info.cf_name.c_str(),
                 stall_name(info.condition.prev), stall_name(info.condition.cur));
  }
};

uint64_t uint_property(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf, const char* name) {
  uint64_t v = 0;
  return db->GetIntProperty(cf, name, &v) ? v : 0;
}

// "rocksdb.num-files-at-level<N>" is a string property: GetIntProperty fails on it.
uint64_t l0_files(rocksdb::DB* db, rocksdb::ColumnFamilyHandle* cf) {
  std::string v;
  return db->GetProperty(cf, "rocksdb.num-files-at-level0", &v)
             ? std::strtoull(v.c_str(), nullptr, 10)
             : 0;
}

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
        log_(db_.get(), handles_[cf_log], handles_[cf_meta]),
        schedule_(db_.get(), handles_[cf_schedule]) {}
  ~rocks_engine() override {
    for (auto* h : handles_)
      (void)db_->DestroyColumnFamilyHandle(h);
    (void)db_->Close();
  }
  meta_store& meta() override { return meta_; }
  log_store& log() override { return log_; }
  schedule_store& schedule() override { return schedule_; }
  storage_health health() const override {
    storage_health h;
    auto* db = db_.get();
    if (uint_property(db, handles_[cf_default], "rocksdb.is-write-stopped") != 0) {
      h.write_stall = storage_health::stall::stopped;
    } else if (uint64_t rate =
                   uint_property(db, handles_[cf_default], "rocksdb.actual-delayed-write-rate");
               rate != 0) {
      h.write_stall = storage_health::stall::delayed;
      h.delayed_write_rate = rate;
    }
    h.log_l0_files = l0_files(db, handles_[cf_log]);
    h.meta_l0_files = l0_files(db, handles_[cf_meta]);
    for (auto* cf : handles_)
      h.pending_compaction_bytes +=
          uint_property(db, cf, "rocksdb.estimate-pending-compaction-bytes");
    h.running_compactions =
        uint_property(db, handles_[cf_default], "rocksdb.num-running-compactions");
    return h;
  }

 private:
  std::unique_ptr<rocksdb::DB> db_;
  std::vector<rocksdb::ColumnFamilyHandle*> handles_;
  rocks_meta_store meta_;
  rocks_log_store log_;
  rocks_schedule_store schedule_;
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
    cfs.emplace_back(name, name == column_families[cf_log]        ? log_cf_options()
                           : name == column_families[cf_schedule] ? schedule_cf_options()
                                                                  : meta_cf_options());
  std::vector<rocksdb::ColumnFamilyHandle*> handles;
  rocksdb::DB* raw = nullptr;
  auto dbo = db_options(opts.create_if_missing);
  dbo.listeners.push_back(std::make_shared<stall_listener>());
  auto started = std::chrono::steady_clock::now();
  auto s = rocksdb::DB::Open(dbo, path, cfs, &handles, &raw);
  if (!s.ok()) {
    err = to_error(s, "cannot open RocksDB at '" + path + "'");
    return nullptr;
  }
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                  started);
  // One line per start: a crash loop that piles up L0 files shows here first.
  std::fprintf(stderr, "rocksdb: opened in %lld ms, L0 files: log %llu, meta %llu\n",
               static_cast<long long>(ms.count()),
               static_cast<unsigned long long>(l0_files(raw, handles[cf_log])),
               static_cast<unsigned long long>(l0_files(raw, handles[cf_meta])));
  return std::make_unique<rocks_engine>(std::unique_ptr<rocksdb::DB>(raw), std::move(handles));
}

}  // namespace ferry::storage
