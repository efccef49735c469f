// etcd_process: a real one-member etcd (Debian's etcd-server) for the cluster tests, on
// free loopback ports with a temp data dir, stopped when destroyed (SIGTERM, then SIGKILL)
// and killed with the test process (PR_SET_PDEATHSIG). Its keys are read through the same
// JSON gateway the broker uses, but by this independent client (http_client).
#pragma once

#include <cstdint>
#include <map>
#include <string>

#include <boost/json/array.hpp>
#include <sys/types.h>

namespace ferry::testing {

class etcd_process {
 public:
  etcd_process();
  ~etcd_process();
  etcd_process(const etcd_process&) = delete;
  etcd_process& operator=(const etcd_process&) = delete;

  // http://127.0.0.1:PORT, for cluster.etcd.
  std::string endpoint() const { return "http://127.0.0.1:" + std::to_string(client_port_); }
  uint16_t port() const { return client_port_; }

  void kill_hard();
  // Starts again on the same data dir and ports.
  void restart();

  // Every key under `prefix` with its value.
  std::map<std::string, std::string> range(const std::string& prefix) const;
  // The lease a key is attached to (0: none, or no such key).
  int64_t lease_of(const std::string& key) const;

 private:
  void spawn();
  // The keys and values of a range, as etcd's JSON gateway answers them.
  boost::json::array kvs(const std::string& key, bool prefix) const;

  std::string data_dir_;
  uint16_t client_port_ = 0;
  uint16_t peer_port_ = 0;
  pid_t pid_ = -1;
};

}  // namespace ferry::testing
