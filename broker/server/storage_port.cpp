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

// An unsynced append is written here on the loop when load is low: no append of this
// port is in flight and the committer is idle (no hand-off to its thread and back). In a
// burst, the appends after the first find one in flight and go to the committer, which
// batches them, as it takes every synced one. Completions come back as loop events and
// are handed on in submission order (complete()): one written here may be answered after
// a later one the committer wrote, whose completion was posted from its thread first.
void storage_port::append(storage::partition_append a, bool sync, done_fn done) {
  const bool alone = appends_.empty();
  ++in_flight_;
  const uint64_t ticket = first_ticket_ + appends_.size();
  appends_.push_back({std::move(done), std::nullopt});
  auto finish = [this, ticket](const ferry::error& err) {
    on_loop_([this, ticket, err] { complete(ticket, err); });
  };
  if (!sync && alone)
    if (auto err = committer_.write_now(a)) return finish(*err);
  committer_.submit(std::move(a), sync, std::move(finish));
}

// Loop. Records append `ticket`'s result, then answers every finished append at the front.
void storage_port::complete(uint64_t ticket, const ferry::error& err) {
  appends_[ticket - first_ticket_].result = err;
  while (!appends_.empty() && appends_.front().result) {
    pending_append p = std::move(appends_.front());
    appends_.pop_front();
    ++first_ticket_;
    finished();
    p.done(*p.result);  // may append again: the queue is consistent by now
  }
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
