#include "tests/support/etcd_process.h"

#include <chrono>
#include <filesystem>
#include <stdexcept>
#include <thread>
#include <tuple>
#include <utility>
#include <vector>

#include <boost/json.hpp>
#include <fcntl.h>
#include <netinet/in.h>
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

// Two distinct ports the kernel had free a moment ago (both held until both are read):
// etcd cannot be told port 0 and report the one it took.
std::pair<uint16_t, uint16_t> free_ports() {
  int fds[2] = {-1, -1};
  uint16_t ports[2] = {0, 0};
  bool ok = true;
  for (int i = 0; i < 2 && ok; ++i) {
    fds[i] = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    ok = fds[i] >= 0 && ::bind(fds[i], reinterpret_cast<sockaddr*>(&a), sizeof a) == 0 &&
         ::getsockname(fds[i], reinterpret_cast<sockaddr*>(&a), &len) == 0;
    ports[i] = ntohs(a.sin_port);
  }
  for (int fd : fds)
    if (fd >= 0) ::close(fd);
  if (!ok) throw std::runtime_error("no free port");
  return {ports[0], ports[1]};
}

std::string prefix_end(std::string p) {
  p.back() = static_cast<char>(p.back() + 1);
  return p;
}

}  // namespace

etcd_process::etcd_process() : data_dir_(make_temp_dir("etcd-test")) {
  std::tie(client_port_, peer_port_) = free_ports();
  spawn();
}

etcd_process::~etcd_process() {
  stop_child(pid_, std::chrono::seconds(2));
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
  const std::string log = data_dir_ + "/etcd.log";
  const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  pid_ = spawn_child(args, fd, fd);
  if (fd >= 0) ::close(fd);
  // Ready when it answers a read (it has elected itself leader).
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (std::chrono::steady_clock::now() < deadline) {
    try {
      if (http_call(client_port_, "POST", "/v3/kv/range", R"({"key":"AA=="})").status == 200)
        return;
    } catch (const std::exception&) {
    }
    if (::waitpid(pid_, nullptr, WNOHANG) == pid_) {  // it exited: nothing left to kill
      pid_ = -1;
      break;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  kill_hard();
  throw std::runtime_error("etcd did not start (log: " + data_dir_ + "/etcd.log)");
}

void etcd_process::kill_hard() {
  kill_child(pid_);
}

void etcd_process::restart() {
  kill_hard();
  spawn();
}

json::array etcd_process::kvs(const std::string& key, bool prefix) const {
  json::object body;
  body["key"] = base64(key);
  if (prefix) body["range_end"] = base64(prefix_end(key));
  auto r = http_call(client_port_, "POST", "/v3/kv/range", json::serialize(body));
  if (r.status != 200) throw std::runtime_error("etcd range: HTTP " + std::to_string(r.status));
  const auto v = r.json();
  const auto* kvs = v.as_object().if_contains("kvs");
  return kvs != nullptr ? kvs->as_array() : json::array();
}

std::map<std::string, std::string> etcd_process::range(const std::string& prefix) const {
  std::map<std::string, std::string> out;
  for (const auto& kv : kvs(prefix, true)) {
    std::string key, value;
    unbase64(kv.at("key").as_string(), key);
    if (const auto* val = kv.as_object().if_contains("value")) unbase64(val->as_string(), value);
    out[key] = value;
  }
  return out;
}

int64_t etcd_process::lease_of(const std::string& key) const {
  const auto found = kvs(key, false);
  if (found.empty()) return 0;
  const auto* lease = found.at(0).as_object().if_contains("lease");
  return lease == nullptr ? 0 : std::stoll(std::string(lease->as_string()));
}

}  // namespace ferry::testing
