#include "tests/support/etcd_process.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <vector>

#include <boost/json.hpp>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "proto/codec/base64.h"
#include "tests/support/broker_process.h"
#include "tests/support/http_client.h"

#ifndef ETCD_PATH
#error "ETCD_PATH must name the etcd binary"
#endif

namespace ferry::testing {

namespace json = boost::json;
using ferry::codec::base64;
using ferry::codec::unbase64;

namespace {

// A port the kernel had free a moment ago (etcd cannot be told port 0 and report it).
uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof a;
  if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) != 0)
    throw std::runtime_error("no free port");
  ::close(fd);
  return ntohs(a.sin_port);
}

std::string prefix_end(std::string p) {
  p.back() = static_cast<char>(p.back() + 1);
  return p;
}

}  // namespace

etcd_process::etcd_process()
    : data_dir_(make_temp_dir("etcd-test")), client_port_(free_port()), peer_port_(free_port()) {
  spawn();
}

etcd_process::~etcd_process() {
  if (pid_ > 0) {
    ::kill(pid_, SIGTERM);
    for (int i = 0; i < 200 && ::waitpid(pid_, nullptr, WNOHANG) == 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    kill_hard();
  }
  std::error_code ec;
  std::filesystem::remove_all(data_dir_, ec);
}

void etcd_process::spawn() {
  const std::string client = "http://127.0.0.1:" + std::to_string(client_port_);
  const std::string peer = "http://127.0.0.1:" + std::to_string(peer_port_);
  // Short raft timings: one member on loopback, and a minimum lease TTL of 1 s.
  std::vector<std::string> args{ETCD_PATH,
                                "--name=test",
                                "--data-dir=" + data_dir_ + "/member",
                                "--listen-client-urls=" + client,
                                "--advertise-client-urls=" + client,
                                "--listen-peer-urls=" + peer,
                                "--initial-advertise-peer-urls=" + peer,
                                "--initial-cluster=test=" + peer,
                                "--heartbeat-interval=50",
                                "--election-timeout=500",
                                "--logger=zap",
                                "--log-level=error"};
  pid_ = ::fork();
  if (pid_ < 0) throw std::runtime_error("fork failed");
  if (pid_ == 0) {
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const std::string log = data_dir_ + "/etcd.log";
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    std::vector<char*> argv;
    for (auto& a : args)
      argv.push_back(a.data());
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  // Ready when it answers a read (it has elected itself leader).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (http_call(client_port_, "POST", "/v3/kv/range", R"({"key":"AA=="})").status == 200)
        return;
    } catch (const std::exception&) {
    }
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill_hard();
  throw std::runtime_error("etcd did not start (log: " + data_dir_ + "/etcd.log)");
}

void etcd_process::kill_hard() {
  if (pid_ <= 0) return;
  ::kill(pid_, SIGKILL);
  ::waitpid(pid_, nullptr, 0);
  pid_ = -1;
}

void etcd_process::restart() {
  kill_hard();
  spawn();
}

std::map<std::string, std::string> etcd_process::range(const std::string& prefix) const {
  json::object body;
  body["key"] = base64(prefix);
  body["range_end"] = base64(prefix_end(prefix));
  auto r = http_call(client_port_, "POST", "/v3/kv/range", json::serialize(body));
  if (r.status != 200) throw std::runtime_error("etcd range: HTTP " + std::to_string(r.status));
  std::map<std::string, std::string> out;
  const auto v = r.json();
  if (const auto* kvs = v.as_object().if_contains("kvs"))
    for (const auto& kv : kvs->as_array()) {
      std::string key, value;
      unbase64(kv.at("key").as_string(), key);
      if (const auto* val = kv.as_object().if_contains("value")) unbase64(val->as_string(), value);
      out[key] = value;
    }
  return out;
}

int64_t etcd_process::lease_of(const std::string& key) const {
  json::object body;
  body["key"] = base64(key);
  const auto v = http_call(client_port_, "POST", "/v3/kv/range", json::serialize(body)).json();
  const auto* kvs = v.as_object().if_contains("kvs");
  if (kvs == nullptr || kvs->as_array().empty()) return 0;
  const auto* lease = kvs->as_array().at(0).as_object().if_contains("lease");
  return lease == nullptr ? 0 : std::stoll(std::string(lease->as_string()));
}

}  // namespace ferry::testing
