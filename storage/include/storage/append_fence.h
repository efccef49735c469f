// append_fence: keeps a partition's log dense when writes are pipelined.
//
// A writer may have several appends of one partition queued. When one fails, the ones
// queued behind it must not be written (their offsets would leave a gap where the failed
// records were). The fence remembers, per partition, the first offset that failed and
// refuses every later append of that partition until one starts at that offset again:
// the writer's retry. Used by whoever runs appends in order (group_committer, test ports).
// Not thread-safe: one writer thread.
#pragma once

#include <map>

#include "storage/log_store.h"

namespace ferry::storage {

class append_fence {
 public:
  // Whether `a` may be written. When not, `why` is the error of the failure it follows.
  bool admit(const partition_append& a, ferry::error& why) {
    auto it = failed_.find(a.pid);
    if (it == failed_.end()) return true;
    if (a.first_offset == it->second.first) {
      failed_.erase(it);  // the writer starts again where it failed
      return true;
    }
    why = {it->second.second.code,
           "an earlier write of this partition failed, so this one was not written: " +
               it->second.second.message};
    return false;
  }
  // `a` was not written because of `err`.
  void failed(const partition_append& a, const ferry::error& err) {
    failed_.try_emplace(a.pid, a.first_offset, err);
  }

 private:
  std::map<partition_id, std::pair<uint64_t, ferry::error>> failed_;
};

}  // namespace ferry::storage
