#include "tests/support/broker_process.h"

#include <cstdlib>
#include <filesystem>
#include <random>
#include <stdexcept>
#include <thread>

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef FERRYD_PATH
#error "FERRYD_PATH must name the ferryd binary"
#endif

namespace ferry::testing {

std::string make_temp_dir(const std::string& prefix) {
  std::random_device rd;
  auto p = std::filesystem::temp_directory_path() /
           (prefix + "-" + std::to_string(::getpid()) + "-" + std::to_string(rd()));
  std::filesystem::create_directories(p);
  return p.string();
}

broker_process::broker_process(std::vector<std::string> extra_args, std::string data_dir)
    : args_(std::move(extra_args)), data_dir_(std::move(data_dir)) {
  if (data_dir_.empty()) {
    data_dir_ = make_temp_dir("ferryd-test");
    own_dir_ = true;
  }
  spawn();
}

broker_process::~broker_process() {
  if (running()) stop(std::chrono::seconds(5));
  if (own_dir_) {
    std::error_code ec;
    std::filesystem::remove_all(data_dir_, ec);
  }
}

void broker_process::spawn() {
  int out[2];
  if (::pipe(out) != 0) throw std::runtime_error("pipe failed");
  std::string listen = "127.0.0.1:" + std::to_string(port_);  // 0 the first time
  std::vector<std::string> argv_s{FERRYD_PATH,
                                  "--listen",
                                  listen,
                                  "--data-dir",
                                  data_dir_,
                                  "--log-level",
                                  std::getenv("FERRY_TEST_LOG") ? "debug" : "warn"};
  argv_s.insert(argv_s.end(), args_.begin(), args_.end());
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    // A broker never outlives its test: if the test process dies (a crash, a failed
    // REQUIRE that skips destructors), so does ferryd, and nothing is left holding the
    // test runner's pipes.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    std::vector<char*> argv;
    for (auto& a : argv_s)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  // Read stdout until the "listening on" line, for at most 20 s.
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (buf.find('\n') == std::string::npos) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{out[0], POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char tmp[256];
    ssize_t n = ::read(out[0], tmp, sizeof tmp);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
  }
  ::close(out[0]);  // ferryd writes nothing else to stdout
  const std::string prefix = "listening on ";
  auto at = buf.find(prefix);
  auto colon = buf.rfind(':');
  if (at == std::string::npos || colon == std::string::npos) {
    kill_hard();
    throw std::runtime_error("ferryd did not start: '" + buf + "'");
  }
  host_ = buf.substr(at + prefix.size(), colon - at - prefix.size());
  port_ = static_cast<uint16_t>(std::stoi(buf.substr(colon + 1)));
}

int broker_process::stop(std::chrono::milliseconds grace) {
  if (!running()) return -1;
  ::kill(pid_, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill_hard();
  return -1;
}

void broker_process::kill_hard() {
  if (!running()) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  ::waitpid(pid_, &status, 0);
  pid_ = -1;
}

void broker_process::restart() {
  if (running()) stop();
  spawn();
}

}  // namespace ferry::testing
