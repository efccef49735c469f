// tmpfs_mount: a small tmpfs mounted for a test that needs a disk that really fills up.
//
// Mounting needs CAP_SYS_ADMIN (root, and a sandbox that allows it). A test that may not
// mount must not pass: its main() exits with skip_exit_code, which CTest reports as
// Skipped (the test is registered with SKIP_RETURN_CODE 77):
//
//   int main(int argc, char** argv) {
//     ferry::testing::enter_private_mount_namespace();  // first, while single-threaded
//     ferry::testing::tmpfs_mount disk(fresh_empty_dir, 64);  // 64 MiB
//     if (!disk.mounted()) return disk.exit_code_for_failure();  // 77 when not permitted
//     ...run the checks, return 0 or 1...
//   }   // unmounted here, also when a check failed
//
// Header-only, test code only.
#pragma once

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <string>

#include <sched.h>
#include <sys/mount.h>
#include <sys/statvfs.h>

namespace ferry::testing {

constexpr int skip_exit_code = 77;

// Moves the process into a mount namespace of its own (when allowed), so a tmpfs mounted
// afterwards disappears with the process even if it crashes before unmounting; children
// forked later (ferryd) see it. Call before any thread starts: unshare() refuses
// multithreaded processes. Without permission it does nothing: the mount then goes into
// the current namespace and only the destructor removes it.
inline void enter_private_mount_namespace() {
  if (::unshare(CLONE_NEWNS) != 0) return;
  // Mount events must not propagate back to the parent namespace.
  (void)::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr);
}

class tmpfs_mount {
 public:
  // Mounts a tmpfs of `size_mib` MiB on `dir` (an existing empty directory, removed again
  // by the destructor).
  tmpfs_mount(std::string dir, size_t size_mib) : dir_(std::move(dir)) {
    std::string opts = "size=";
    opts.append(std::to_string(size_mib)).append("m,mode=0700");
    if (::mount("tmpfs", dir_.c_str(), "tmpfs", MS_NOSUID | MS_NODEV, opts.c_str()) == 0) {
      mounted_ = true;
    } else {
      errno_ = errno;
    }
  }
  ~tmpfs_mount() {
    if (mounted_) ::umount2(dir_.c_str(), MNT_DETACH);
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }
  tmpfs_mount(const tmpfs_mount&) = delete;
  tmpfs_mount& operator=(const tmpfs_mount&) = delete;

  bool mounted() const { return mounted_; }
  const std::string& path() const { return dir_; }
  // Why mounting failed (errno), 0 when it did not.
  int error() const { return errno_; }
  // Mounting is not permitted here (no CAP_SYS_ADMIN): the test cannot run.
  bool not_permitted() const { return errno_ == EPERM || errno_ == EACCES; }
  // Says why on stderr; skip_exit_code when mounting is not permitted, else 1 (a failure).
  int exit_code_for_failure() const {
    std::fprintf(stderr, "%s: cannot mount a tmpfs on %s: %s\n",
                 not_permitted() ? "SKIPPED (needs root)" : "FAILED", dir_.c_str(),
                 std::strerror(errno_));
    return not_permitted() ? skip_exit_code : 1;
  }
  // Free bytes on the tmpfs now.
  uint64_t free_bytes() const {
    struct statvfs s {};
    if (::statvfs(dir_.c_str(), &s) != 0) return 0;
    return static_cast<uint64_t>(s.f_bavail) * s.f_frsize;
  }

 private:
  std::string dir_;
  bool mounted_ = false;
  int errno_ = 0;
};

// Catch returns the number of failed assertions (up to 255); 77 of them would read as
// Skipped. Every failure becomes 1.
inline int test_exit_code(int catch_result) {
  return catch_result == 0 ? 0 : 1;
}

}  // namespace ferry::testing
