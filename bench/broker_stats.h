// The broker's side of a benchmark: start ferryd (loopback, temp data dir) and read its
// CPU time and peak resident memory from /proc.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ferry::bench {

struct broker_stats {
  double cpu_seconds = 0;       // user + system
  uint64_t peak_rss_bytes = 0;  // VmHWM
  uint64_t rss_bytes = 0;       // VmRSS, now
};

// Zeros when pid is 0 or /proc cannot be read.
broker_stats read_broker_stats(pid_t pid);
// The process's soft RLIMIT_NOFILE (/proc/PID/limits); 0 when unknown.
uint64_t open_files_limit(pid_t pid);

// Raises this process's soft RLIMIT_NOFILE to its hard limit (children inherit it: do it
// before starting ferryd); returns the limit now in force.
uint64_t raise_open_files_limit();

// A ferryd child process on 127.0.0.1:0 with a fresh data dir; stopped (SIGTERM) and
// its data dir removed on destruction. `args` are added to its command line.
class ferryd_process {
 public:
  explicit ferryd_process(const std::string& binary, const std::vector<std::string>& args = {});
  ~ferryd_process();
  // A crash and a start again: SIGKILL, then the same binary, data dir and port; true once
  // it listens again.
  bool restart();
  bool ok() const { return pid_ > 0; }
  pid_t pid() const { return pid_; }
  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  const std::string& data_dir() const { return dir_; }

 private:
  // Starts the binary listening on `listen`; sets pid_, host_ and port_ (pid_ -1 on failure).
  void spawn(const std::string& listen);

  std::string binary_;
  std::vector<std::string> args_;
  pid_t pid_ = -1;
  std::string host_, dir_;
  uint16_t port_ = 0;
};

}  // namespace ferry::bench
