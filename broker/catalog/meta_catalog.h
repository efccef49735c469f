// meta_catalog: the catalog over RocksDB's meta column family (storage::meta_store), for
// a broker that is the only writer of its definitions.
//
// apply() runs the write (synced) on the storage thread and completes on the loop, in
// the order batches were applied. Revisions: every key read at load() has revision 1,
// and each applied batch gives the keys it puts the next revision of a counter that
// starts there; they are not stored (a restart starts them again), which is enough for
// one writer. Preconditions are checked on the storage thread against them, so a batch
// sees every batch applied before it. A failed batch's erasures count as done (the loop
// does not undo deletions), its puts as not.
//
// Lifecycle: construct, load() (before the threads run), then apply/watch on the loop.
// Destroy only after the storage thread has finished (the server joins it first).
#pragma once

#include <functional>
#include <map>
#include <string>

#include "broker/catalog/catalog.h"

namespace ferry::broker {

class meta_catalog final : public catalog {
 public:
  using task = std::function<void()>;

  // `on_storage` runs a task on the storage thread; `on_loop` runs one as a loop event.
  meta_catalog(storage::meta_store& meta, std::function<void(task)> on_storage,
               std::function<void(task)> on_loop);

  // catalog
  ferry::error load(catalog_snapshot& out) override;
  uint32_t allocate_topic_id(catalog_batch& b) override;
  void apply(catalog_batch b, done_fn done) override;
  // This node is the only writer: nothing is changed elsewhere.
  uint64_t watch(watch_fn) override { return 0; }
  void unwatch(uint64_t) override {}

  // Batches applied whose completion has not run on the loop yet (a drain waits for 0).
  size_t in_flight() const { return in_flight_; }

 private:
  // Storage thread: checks the preconditions, writes, moves the revisions.
  ferry::error write(const catalog_batch& b);
  ferry::error load_groups(catalog_snapshot& out);
  ferry::error load_security(catalog_snapshot& out, ferry::error& bad);

  storage::meta_store& meta_;
  std::function<void(task)> on_storage_;
  std::function<void(task)> on_loop_;
  // Storage thread (and load()).
  std::map<std::string, uint64_t, std::less<>> revisions_;
  uint64_t revision_ = 1;
  // Loop.
  uint32_t next_topic_id_ = 1;
  size_t in_flight_ = 0;
};

}  // namespace ferry::broker
