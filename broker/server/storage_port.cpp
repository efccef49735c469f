#include "broker/server/storage_port.h"

#include <boost/asio/post.hpp>
#include <boost/asio/thread_pool.hpp>

namespace ferry::broker {

struct storage_port::reader_thread {
  boost::asio::thread_pool pool{1};
};

storage_port::storage_port(storage::log_store& store, std::function<void(task)> on_loop)
    : store_(store),
      on_loop_(std::move(on_loop)),
      committer_(store),
      reader_(std::make_unique<reader_thread>()) {}

storage_port::~storage_port() {
  stop();
}

void storage_port::stop() {
  committer_.stop();
  if (reader_) reader_->pool.join();
}

void storage_port::on_reader(task t) {
  ++in_flight_;
  boost::asio::post(reader_->pool, std::move(t));
}

// An unsynced append is written here on the loop when the committer is idle (no hand-off
// to its thread and back); otherwise, and for every synced one, the committer takes it.
// Either way the completion runs as a loop event of its own.
void storage_port::append(storage::partition_append a, bool sync, done_fn done) {
  ++in_flight_;
  auto finish = [this, done = std::move(done)](const ferry::error& err) {
    on_loop_([this, done, err] {
      finished();
      done(err);
    });
  };
  if (!sync && committer_.write_now(a, finish)) return;
  committer_.submit(std::move(a), sync, std::move(finish));
}

void storage_port::sync_wal(done_fn done) {
  ++in_flight_;
  committer_.sync([this, done = std::move(done)](const ferry::error& err) {
    on_loop_([this, done, err] {
      finished();
      done(err);
    });
  });
}

void storage_port::read(storage::partition_id pid, uint64_t from, size_t max_records,
                        size_t max_bytes, read_fn done) {
  on_reader([this, pid, from, max_records, max_bytes, done = std::move(done)]() mutable {
    auto res = std::make_shared<read_result>();
    res->err = store_.read(pid, from, max_records, max_bytes, res->buffer, res->records);
    on_loop_([this, res, done = std::move(done)] {
      finished();
      done(std::move(*res));
    });
  });
}

void storage_port::offset_for_time(storage::partition_id pid, int64_t ts_ms, offset_fn done) {
  on_reader([this, pid, ts_ms, done = std::move(done)]() mutable {
    uint64_t off = 0;
    ferry::error err = store_.offset_for_time(pid, ts_ms, off);
    on_loop_([this, err, off, done = std::move(done)] {
      finished();
      done(err, off);
    });
  });
}

void storage_port::truncate_prefix(storage::partition_id pid, uint64_t new_start, done_fn done) {
  on_reader([this, pid, new_start, done = std::move(done)]() mutable {
    ferry::error err = store_.truncate_prefix(pid, new_start);
    on_loop_([this, err, done = std::move(done)] {
      finished();
      done(err);
    });
  });
}

void storage_port::drop_partition(storage::partition_id pid, done_fn done) {
  on_reader([this, pid, done = std::move(done)]() mutable {
    ferry::error err = store_.drop_partition(pid);
    on_loop_([this, err, done = std::move(done)] {
      finished();
      done(err);
    });
  });
}

}  // namespace ferry::broker
