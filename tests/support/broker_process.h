// broker_process: runs the real ferryd binary for integration tests.
//
// Starts ferryd on 127.0.0.1 port 0 (the HTTP listener too) with a fresh temp data dir (or
// a given one), reads its "listening on HOST:PORT" and "http listening on HOST:PORT"
// lines, and stops it when destroyed (SIGTERM, then SIGKILL after a grace period). Never
// leaves a broker running: tests are bounded in time.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include <sys/types.h>

namespace ferry::testing {

class broker_process {
 public:
  // Extra ferryd arguments, e.g. {"--set", "limits.write_timeout_ms=500"}.
  // With `log_file`, ferryd logs at debug level into it (appending, restarts included)
  // instead of the test's stderr: for tests that read what it logged.
  explicit broker_process(std::vector<std::string> extra_args = {}, std::string data_dir = {},
                          std::string log_file = {});
  ~broker_process();
  broker_process(const broker_process&) = delete;
  broker_process& operator=(const broker_process&) = delete;

  const std::string& host() const { return host_; }
  uint16_t port() const { return port_; }
  // The HTTP listener's port (0 when started with {"--http", ""}).
  uint16_t http_port() const { return http_port_; }
  const std::string& data_dir() const { return data_dir_; }
  pid_t pid() const { return pid_; }

  // Graceful stop; returns ferryd's exit status (or -1 when it had to be killed).
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(10));
  // kill -9.
  void kill_hard();
  // Starts again on the same data dir and the same port (clients can reconnect).
  void restart();
  bool running() const { return pid_ > 0; }

 private:
  void spawn();

  std::vector<std::string> args_;
  std::string data_dir_;
  std::string log_file_;
  bool own_dir_ = false;
  pid_t pid_ = -1;
  std::string host_;
  uint16_t port_ = 0;
  uint16_t http_port_ = 0;
};

// A fresh empty directory under the system temp dir.
std::string make_temp_dir(const std::string& prefix);

// A child process running argv (argv[0] a path), killed with the test process
// (PR_SET_PDEATHSIG); its stdout goes to `out_fd` and its stderr to `err_fd` (-1: the
// test's own). Throws when it cannot fork.
pid_t spawn_child(std::vector<std::string> argv, int out_fd, int err_fd);
// SIGTERM, then SIGKILL once `grace` is over; the exit status, or -1 when it had to be
// killed (or there was none). `pid` becomes -1.
int stop_child(pid_t& pid, std::chrono::milliseconds grace);
// SIGKILL, and waits for it. `pid` becomes -1.
void kill_child(pid_t& pid);

}  // namespace ferry::testing
