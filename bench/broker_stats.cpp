#include "bench/broker_stats.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>

#include <signal.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

namespace ferry::bench {

broker_stats read_broker_stats(pid_t pid) {
  broker_stats s;
  if (pid <= 0) return s;
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (std::getline(stat, line)) {
    // Fields after the parenthesised command name; utime and stime are fields 14 and 15.
    std::istringstream rest(line.substr(line.rfind(')') + 2));
    std::vector<std::string> f;
    std::string x;
    while (rest >> x)
      f.push_back(x);
    if (f.size() > 12) {
      double ticks = static_cast<double>(::sysconf(_SC_CLK_TCK));
      s.cpu_seconds = (std::stod(f[11]) + std::stod(f[12])) / ticks;
    }
  }
  std::ifstream status("/proc/" + std::to_string(pid) + "/status");
  while (std::getline(status, line)) {
    if (line.rfind("VmHWM:", 0) == 0) s.peak_rss_bytes = std::stoull(line.substr(6)) * 1024;
    if (line.rfind("VmRSS:", 0) == 0) s.rss_bytes = std::stoull(line.substr(6)) * 1024;
  }
  return s;
}

uint64_t open_files_limit(pid_t pid) {
  if (pid <= 0) return 0;
  std::ifstream limits("/proc/" + std::to_string(pid) + "/limits");
  std::string line;
  while (std::getline(limits, line)) {
    if (line.rfind("Max open files", 0) != 0) continue;
    std::istringstream fields(line.substr(14));
    uint64_t soft = 0;
    return (fields >> soft) ? soft : 0;
  }
  return 0;
}

uint64_t raise_open_files_limit() {
  rlimit l{};
  if (::getrlimit(RLIMIT_NOFILE, &l) != 0) return 0;
  if (l.rlim_cur < l.rlim_max) {
    rlimit raised = l;
    raised.rlim_cur = l.rlim_max;
    if (::setrlimit(RLIMIT_NOFILE, &raised) == 0) l = raised;
  }
  return static_cast<uint64_t>(l.rlim_cur);
}

ferryd_process::ferryd_process(const std::string& binary, const std::vector<std::string>& args)
    : binary_(binary), args_(args) {
  dir_ = (std::filesystem::temp_directory_path() / ("ferry-bench-" + std::to_string(::getpid())))
             .string();
  std::filesystem::create_directories(dir_);
  spawn("127.0.0.1:0");
}

bool ferryd_process::restart() {
  if (pid_ > 0) {
    ::kill(pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  spawn(host_ + ":" + std::to_string(port_));
  return ok();
}

void ferryd_process::spawn(const std::string& listen) {
  int out[2];
  if (::pipe(out) != 0) {
    pid_ = -1;
    return;
  }
  pid_ = ::fork();
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);  // never outlive the benchmark
    ::dup2(out[1], STDOUT_FILENO);
    ::close(out[0]);
    ::close(out[1]);
    // The HTTP listener on a free port too: measured as users run it.
    std::vector<std::string> all = {binary_,  "--listen",    listen,
                                    "--http", "127.0.0.1:0", "--data-dir",
                                    dir_,     "--log-level", "warn"};
    all.insert(all.end(), args_.begin(), args_.end());
    std::vector<char*> argv;
    for (auto& a : all)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(binary_.c_str(), argv.data());
    ::_exit(127);
  }
  ::close(out[1]);
  std::string buf;
  char c;
  while (buf.find('\n') == std::string::npos && ::read(out[0], &c, 1) == 1)
    buf += c;
  ::close(out[0]);
  auto colon = buf.rfind(':');
  const std::string prefix = "listening on ";
  if (buf.rfind(prefix, 0) != 0 || colon == std::string::npos) {
    std::fprintf(stderr, "ferry-bench: ferryd did not start (%s)\n", buf.c_str());
    if (pid_ > 0) ::kill(pid_, SIGKILL);
    pid_ = -1;
    return;
  }
  host_ = buf.substr(prefix.size(), colon - prefix.size());
  port_ = static_cast<uint16_t>(std::stoi(buf.substr(colon + 1)));
}

ferryd_process::~ferryd_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    int status;
    ::waitpid(pid_, &status, 0);
  }
  std::error_code ec;
  std::filesystem::remove_all(dir_, ec);
}

}  // namespace ferry::bench
