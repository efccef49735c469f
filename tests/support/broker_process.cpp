#include "tests/support/broker_process.h"

#include <algorithm>
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

pid_t spawn_child(std::vector<std::string> argv, int out_fd, int err_fd) {
  const pid_t pid = ::fork();
  if (pid < 0) throw std::runtime_error("fork failed");
  if (pid == 0) {
    // A child never outlives its test: if the test process dies (a crash, a failed
    // REQUIRE that skips destructors), so does the child, and nothing is left holding the
    // test runner's pipes.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (out_fd >= 0) ::dup2(out_fd, STDOUT_FILENO);
    if (err_fd >= 0) ::dup2(err_fd, STDERR_FILENO);
    std::vector<char*> args;
    for (auto& a : argv)
      args.push_back(a.data());
    args.push_back(nullptr);
    ::execv(args[0], args.data());
    ::_exit(127);
  }
  return pid;
}

int stop_child(pid_t& pid, std::chrono::milliseconds grace) {
  if (pid <= 0) return -1;
  ::kill(pid, SIGTERM);
  const auto deadline = std::chrono::steady_clock::now() + grace;
  int status = 0;
  while (std::chrono::steady_clock::now() < deadline) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      pid = -1;
      return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  kill_child(pid);
  return -1;
}

void kill_child(pid_t& pid) {
  if (pid <= 0) return;
  ::kill(pid, SIGKILL);
  ::waitpid(pid, nullptr, 0);
  pid = -1;
}

broker_process::broker_process(std::vector<std::string> extra_args, std::string data_dir,
                               std::string log_file)
    : args_(std::move(extra_args)), data_dir_(std::move(data_dir)), log_file_(std::move(log_file)) {
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

namespace {

// Whether ferryd serves HTTP: the extra arguments come after ours, so {"--http", ""} in
// them turns the listener off.
bool http_wanted(const std::vector<std::string>& args) {
  bool want = true;
  for (size_t i = 0; i + 1 < args.size(); ++i)
    if (args[i] == "--http") want = !args[i + 1].empty();
  return want;
}

// ferryd's stdout until its "listening on" lines (two, unless {"--http", ""} turned the
// HTTP listener off), for at most 20 s.
std::string read_start_lines(int fd, bool want_http) {
  const size_t lines = want_http ? 2 : 1;
  std::string buf;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (static_cast<size_t>(std::count(buf.begin(), buf.end(), '\n')) < lines) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    pollfd p{fd, POLLIN, 0};
    if (left.count() <= 0 || ::poll(&p, 1, static_cast<int>(left.count())) <= 0) break;
    char tmp[256];
    ssize_t n = ::read(fd, tmp, sizeof tmp);
    if (n <= 0) break;
    buf.append(tmp, static_cast<size_t>(n));
  }
  return buf;
}

}  // namespace

void broker_process::spawn() {
  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) throw std::runtime_error("pipe failed");
  std::string listen = "127.0.0.1:" + std::to_string(port_);  // 0 the first time
  std::vector<std::string> argv_s{
      FERRYD_PATH,
      "--listen",
      listen,
      "--data-dir",
      data_dir_,
      "--log-level",
      std::getenv("FERRY_TEST_LOG") || !log_file_.empty() ? "debug" : "warn"};
  // The HTTP listener on a free port too, unless the test says where (or {"--http", ""}).
  if (std::find(args_.begin(), args_.end(), "--http") == args_.end()) {
    argv_s.push_back("--http");
    argv_s.push_back("127.0.0.1:" + std::to_string(http_port_));
  }
  argv_s.insert(argv_s.end(), args_.begin(), args_.end());
  int log = -1;
  if (!log_file_.empty())
    log = ::open(log_file_.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = spawn_child(argv_s, out[1], log);
  if (log >= 0) ::close(log);
  ::close(out[1]);
  const std::string buf = read_start_lines(out[0], http_wanted(args_));
  ::close(out[0]);  // ferryd writes nothing else to stdout
  const bool want_http = http_wanted(args_);
  const std::string first = buf.substr(0, buf.find('\n'));
  const std::string prefix = "listening on ";
  auto at = first.find(prefix);
  auto colon = first.rfind(':');
  const std::string http_prefix = "http listening on ";
  auto http_at = buf.find(http_prefix);
  if (at != 0 || colon == std::string::npos || (want_http && http_at == std::string::npos)) {
    kill_hard();
    throw std::runtime_error("ferryd did not start: '" + buf + "'");
  }
  host_ = first.substr(prefix.size(), colon - prefix.size());
  port_ = static_cast<uint16_t>(std::stoi(first.substr(colon + 1)));
  if (want_http) {
    const std::string line = buf.substr(http_at, buf.find('\n', http_at) - http_at);
    http_port_ = static_cast<uint16_t>(std::stoi(line.substr(line.rfind(':') + 1)));
  }
}

int broker_process::stop(std::chrono::milliseconds grace) {
  return stop_child(pid_, grace);
}

void broker_process::kill_hard() {
  kill_child(pid_);
}

void broker_process::restart() {
  if (running()) stop();
  spawn();
}

}  // namespace ferry::testing
