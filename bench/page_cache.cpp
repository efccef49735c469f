#include "bench/page_cache.h"

#include <filesystem>
#include <vector>

#include <fcntl.h>
#include <sys/mman.h>
#include <unistd.h>

namespace ferry::bench {

uint64_t resident_bytes(const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return 0;
  off_t size = ::lseek(fd, 0, SEEK_END);
  uint64_t resident = 0;
  if (size > 0) {
    void* map = ::mmap(nullptr, static_cast<size_t>(size), PROT_READ, MAP_SHARED, fd, 0);
    if (map != MAP_FAILED) {
      const long page = ::sysconf(_SC_PAGESIZE);
      std::vector<unsigned char> in_core((static_cast<size_t>(size) + page - 1) / page);
      if (::mincore(map, static_cast<size_t>(size), in_core.data()) == 0)
        for (unsigned char c : in_core)
          resident += (c & 1) ? static_cast<uint64_t>(page) : 0;
      ::munmap(map, static_cast<size_t>(size));
    }
  }
  ::close(fd);
  return resident;
}

cache_drop drop_page_cache(const std::string& dir) {
  cache_drop out;
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<std::string> files;
  for (fs::recursive_directory_iterator it(dir, fs::directory_options::skip_permission_denied, ec),
       end;
       !ec && it != end; it.increment(ec))
    if (it->is_regular_file(ec)) files.push_back(it->path().string());
  if (ec) out.error = dir + ": " + ec.message();
  for (const auto& f : files) {
    int fd = ::open(f.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd < 0) continue;  // gone meanwhile (compaction, segment deletion)
    // Dirty pages cannot be dropped: write them back first.
    ::fdatasync(fd);
    ::posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
    off_t size = ::lseek(fd, 0, SEEK_END);
    ::close(fd);
    ++out.files;
    out.file_bytes += size > 0 ? static_cast<uint64_t>(size) : 0;
    out.resident_bytes += resident_bytes(f);
  }
  return out;
}

}  // namespace ferry::bench
