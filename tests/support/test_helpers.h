// test_helpers: small waits and reads the integration tests share (none of them talks to
// ferryd itself: see client_helpers.h, http_client.h and raw_client.h for that).
#pragma once

#include <chrono>
#include <cstdio>
#include <fstream>
#include <iterator>
#include <string>
#include <thread>

#include <sys/wait.h>

namespace ferry::testing {

// Asks `pred` until it holds or `within` passes; whether it held.
template <typename Pred>
bool eventually(Pred pred, std::chrono::milliseconds within = std::chrono::seconds(10)) {
  const auto deadline = std::chrono::steady_clock::now() + within;
  while (!pred()) {
    if (std::chrono::steady_clock::now() > deadline) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return true;
}

// A whole file ("" when it cannot be read).
inline std::string read_file(const std::string& path) {
  std::ifstream in(path);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

struct command_outcome {
  int status = -1;  // the exit status; -1 when it did not exit (or could not start)
  std::string out;  // stdout and stderr
};

// Runs `command` through sh, stderr into stdout.
inline command_outcome run_command(const std::string& command) {
  FILE* p = ::popen((command + " 2>&1").c_str(), "r");
  if (p == nullptr) return {};
  command_outcome r;
  char buf[4096];
  size_t n = 0;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    r.out.append(buf, n);
  const int st = ::pclose(p);
  r.status = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
  return r;
}

}  // namespace ferry::testing
