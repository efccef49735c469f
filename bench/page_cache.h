// page_cache: makes a server's data files cold for a catch-up read (workload key
// `cold_read`): every regular file under a directory is written back (fdatasync) and its
// pages are dropped from the page cache (POSIX_FADV_DONTNEED), as `echo 1 >
// /proc/sys/vm/drop_caches` would for those files, without needing root. What a server
// keeps in its own memory (RocksDB memtables and block cache, JetStream's block cache,
// Redis's whole data set) stays warm: that is the system's design, not the page cache.
#pragma once

#include <cstdint>
#include <string>

namespace ferry::bench {

struct cache_drop {
  uint64_t files = 0;
  uint64_t file_bytes = 0;      // size of every file under the directory
  uint64_t resident_bytes = 0;  // of those, still in the page cache afterwards (mincore)
  std::string error;            // the directory could not be walked
};

cache_drop drop_page_cache(const std::string& dir);

// Bytes of `path` in the page cache now (mincore over a read-only mapping); 0 when the
// file is empty or cannot be mapped.
uint64_t resident_bytes(const std::string& path);

}  // namespace ferry::bench
