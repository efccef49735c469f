// blocking_log_consumer: a log_consumer on the blocking facade's I/O thread. Its handler
// queues deliveries; next() takes them, returns their credit and marks the one taken
// before as processed (manual_credit, manual_processed on the reader's state).
#include <algorithm>
#include <condition_variable>
#include <deque>
#include <map>
#include <mutex>

#include "client/src/blocking_core.h"

namespace ferry::client {

using detail::call;
using detail::call_void;
using detail::io_core;

struct blocking_log_consumer::state : detail::delivery_queue {
  explicit state(std::shared_ptr<io_core> io) : core(std::move(io)) {}
  // Dropping the last handle closes the reader (committing, with auto_commit).
  ~state() {
    if (c.valid()) core->post([cons = c]() mutable { cons.async_close([](error) {}); });
  }

  // I/O thread: queued deliveries of `partitions` are stale (seek, revoke); their credit
  // goes back now.
  void drop(const std::vector<uint32_t>& partitions) {
    std::map<uint64_t, uint32_t> per_epoch;
    {
      std::lock_guard lock(m);
      auto stale = [&](const delivery& d) {
        if (std::find(partitions.begin(), partitions.end(), d.partition()) == partitions.end())
          return false;
        ++per_epoch[d.connection_epoch()];
        return true;
      };
      q.erase(std::remove_if(q.begin(), q.end(), stale), q.end());
    }
    const auto& st = c.impl();
    auto cl = st ? st->client.lock() : nullptr;
    if (!cl) return;
    for (const auto& [epoch, n] : per_epoch)
      cl->logs().grant_credit(st, epoch, n);
  }
  // The delivery next() returned last, now processed (taken under `m`).
  std::optional<delivery> take_last() {
    std::lock_guard lock(m);
    auto d = std::move(last);
    last.reset();
    return d;
  }

  std::shared_ptr<io_core> core;
  log_consumer c;  // set once, on the I/O thread, when the reader is attached
  std::optional<delivery> last;
};

namespace {

// I/O thread: `processed` (if any) was processed.
void mark(const log_consumer& cons, const std::optional<delivery>& processed) {
  const auto& st = cons.impl();
  auto cl = st ? st->client.lock() : nullptr;
  if (cl && processed)
    cl->logs().mark_processed(st, processed->partition(), processed->offset() + 1);
}

}  // namespace

std::optional<delivery> blocking_log_consumer::next(std::chrono::milliseconds timeout) {
  auto& s = *state_;
  std::unique_lock lock(s.m);
  std::optional<delivery> prev = std::move(s.last);
  s.last.reset();
  std::optional<delivery> d = s.take(lock, timeout);
  if (d) s.last = d;
  lock.unlock();
  if (!prev && !d) return d;
  s.core->post([cons = s.c, prev = std::move(prev), taken = d.has_value(),
                epoch = d ? d->connection_epoch() : 0] {
    mark(cons, prev);
    const auto& st = cons.impl();
    auto cl = st ? st->client.lock() : nullptr;
    if (cl && taken) cl->logs().grant_credit(st, epoch, 1);
  });
  return d;
}

error blocking_log_consumer::closed_reason() const {
  return state_->closed_reason();
}

error blocking_log_consumer::commit() {
  return call_void(*state_->core,
                   [cons = state_->c, prev = state_->take_last()](client&, auto done) mutable {
                     mark(cons, prev);
                     cons.async_commit(std::move(done));
                   });
}

error blocking_log_consumer::commit(const partition_offsets& offsets) {
  return call_void(*state_->core, [cons = state_->c, offsets](client&, auto done) mutable {
    cons.async_commit(offsets, std::move(done));
  });
}

result<uint64_t> blocking_log_consumer::seek(uint32_t partition, const v1::Position& position) {
  auto r = call<uint64_t>(*state_->core,
                          [cons = state_->c, partition, position](client&, auto done) mutable {
                            cons.async_seek(partition, position, std::move(done));
                          });
  if (r) {
    std::lock_guard lock(state_->m);  // the position moved: it does not count as processed
    if (state_->last && state_->last->partition() == partition) state_->last.reset();
  }
  return r;
}

error blocking_log_consumer::close() {
  error e = call_void(*state_->core,
                      [cons = state_->c, prev = state_->take_last()](client&, auto done) mutable {
                        mark(cons, prev);
                        cons.async_close(std::move(done));
                      });
  state_->close_with(error{});
  return e;
}

std::vector<uint32_t> blocking_log_consumer::assignment() const {
  auto r = call<std::vector<uint32_t>>(
      *state_->core, [cons = state_->c](client&, auto done) { done(error{}, cons.assignment()); });
  return r ? std::move(r.value()) : std::vector<uint32_t>{};
}

std::string blocking_log_consumer::member_id() const {
  auto r = call<std::string>(
      *state_->core, [cons = state_->c](client&, auto done) { done(error{}, cons.member_id()); });
  return r ? std::move(r.value()) : std::string{};
}

uint64_t blocking_log_consumer::generation() const {
  auto r = call<uint64_t>(
      *state_->core, [cons = state_->c](client&, auto done) { done(error{}, cons.generation()); });
  return r ? r.value() : 0;
}

result<blocking_log_consumer> blocking_client::consume(consume_options opts) {
  auto st = std::make_shared<blocking_log_consumer::state>(impl_->core);
  std::weak_ptr<blocking_log_consumer::state> w = st;
  auto r =
      call<log_consumer>(*impl_->core, [opts = std::move(opts), w](client& c, auto done) mutable {
        auto on_delivery = [w](const delivery& d) {
          if (auto s = w.lock()) s->push(d);
        };
        c.async_consume(std::move(opts), on_delivery,
                        [w, done = std::move(done)](error e, log_consumer cons) mutable {
                          if (!e) {
                            // Still on the I/O thread, before any delivery is handled.
                            auto& cs = *cons.impl();
                            cs.manual_credit = true;
                            cs.manual_processed = true;
                            cs.on_closed = [w](const error& why) {
                              if (auto s = w.lock()) s->close_with(why);
                            };
                            cs.on_drop = [w](const std::vector<uint32_t>& partitions) {
                              if (auto s = w.lock()) s->drop(partitions);
                            };
                            if (auto s = w.lock()) s->c = cons;
                          }
                          done(std::move(e), std::move(cons));
                        });
      });
  if (!r) return r.err();
  return blocking_log_consumer(std::move(st));
}

}  // namespace ferry::client
