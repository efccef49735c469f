// A ferryd cluster's membership (docs/CLUSTER.md) against a real etcd: three real ferryd
// processes on loopback register under leases and see each other; a killed node disappears
// within its lease, a stopped one at once; a restarted node takes its registration back,
// another data dir claiming a live node's id is refused; a node that loses etcd stops
// being ready and comes back with it. etcd's keys are read by the test's own client.
#include <chrono>
#include <filesystem>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/client_helpers.h"
#include "tests/support/cluster_harness.h"
#include "tests/support/etcd_process.h"
#include "tests/support/http_client.h"
#include "tests/support/test_helpers.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
namespace v1 = ferry::v1;

namespace {

using clock_type = std::chrono::steady_clock;

// `ferry --broker BROKERS ARGS`.
command_outcome run_cli_at(const std::string& brokers, const std::string& args) {
  std::string cmd = FERRY_CLI_PATH;  // appended: g++ 12 misreads a chain of + (array-bounds)
  cmd.append(" --broker ").append(brokers).append(" ").append(args);
  return run_command(cmd);
}

// `ferry ARGS` against `b`: what it printed.
std::string run_cli(const broker_process& b, const std::string& args) {
  return run_cli_at("127.0.0.1:" + std::to_string(b.port()), args).out;
}

std::string node_key(int id) {
  return "/ferry/nodes/" + std::to_string(id);
}

std::string advertised(const broker_process& b) {
  return "\"advertise\":\"127.0.0.1:" + std::to_string(b.port()) + "\"";
}

// A gauge's value in a node's /metrics; -1 when it is not there.
double gauge(const broker_process& node, const std::string& name) {
  return metric_sample(http_call(node.http_port(), "GET", "/metrics").body, name);
}

// The controller as `node` sees it: {controller id, epoch}; {0, 0} when it cannot say.
std::pair<uint32_t, int64_t> controller_seen_by(broker_process& node) {
  auto client = connect(node);
  auto info = client->describe_cluster();
  if (!info) return {0, 0};
  return {info->controller_id(), info->controller_epoch()};
}

// Waits until every node in `ids` names the same controller, other than `gone`; that
// controller and epoch (the test fails if they do not agree within 8 s).
std::pair<uint32_t, int64_t> agreed_controller(cluster& c, const std::vector<int>& ids,
                                               uint32_t gone = 0) {
  std::pair<uint32_t, int64_t> agreed{0, 0};
  REQUIRE(eventually(
      [&] {
        agreed = controller_seen_by(c.node(ids.front()));
        for (int id : ids)
          if (controller_seen_by(c.node(id)) != agreed) return false;
        return agreed.first != 0 && agreed.first != gone;
      },
      8s));
  return agreed;
}

}  // namespace

TEST_CASE("three nodes register in etcd under leases and see each other", "[cluster]") {
  cluster c(3);
  const auto keys = c.etcd.range("/ferry/nodes/");
  REQUIRE(keys.size() == 3);
  for (int id = 1; id <= 3; ++id) {
    INFO("node " << id);
    const auto& value = keys.at(node_key(id));
    CHECK(value.find(advertised(c.node(id))) != std::string::npos);
    CHECK(c.etcd.lease_of(node_key(id)) != 0);
    CHECK(http_call(c.node(id).http_port(), "GET", "/readyz").status == 200);
  }
  // Each node's view (DescribeCluster through libferry) has all three, at their addresses.
  for (int id = 1; id <= 3; ++id) {
    INFO("asking node " << id);
    auto client = connect(c.node(id));
    ferry::client::result<v1::ClusterInfo> info = client->describe_cluster();
    CHECK(eventually(
        [&] {
          info = client->describe_cluster();
          return info && info->nodes_size() == 3;
        },
        5s));
    REQUIRE(info);
    CHECK(info->enabled());
    CHECK(info->registered());
    CHECK(info->node_id() == static_cast<uint32_t>(id));
    for (int other = 1; other <= 3; ++other) {
      REQUIRE(info->nodes_size() >= other);
      CHECK(info->nodes(other - 1).id() == static_cast<uint32_t>(other));
      CHECK(info->nodes(other - 1).address() ==
            "127.0.0.1:" + std::to_string(c.node(other).port()));
    }
  }
  // The CLI shows the same, the controller once one is elected.
  agreed_controller(c, {1, 2, 3});
  const auto out = run_cli(c.node(2), "cluster status");
  CHECK(out.find("answered by node 2, registered in etcd") != std::string::npos);
  CHECK(out.find("controller: node ") != std::string::npos);
  CHECK(out.find("node 3\t127.0.0.1:" + std::to_string(c.node(3).port())) != std::string::npos);
  CHECK(run_cli(c.node(1), "cluster status").find("nodes: 3") != std::string::npos);
}

TEST_CASE("one controller at a time, and a new one with a larger epoch when it goes", "[cluster]") {
  cluster c(3);
  const auto first = agreed_controller(c, {1, 2, 3});
  REQUIRE(first.first != 0);
  CHECK(c.etcd.range("/ferry/controller").at("/ferry/controller") ==
        "{\"id\":" + std::to_string(first.first) + "}");
  CHECK(c.etcd.lease_of("/ferry/controller") ==
        c.etcd.lease_of(node_key(static_cast<int>(first.first))));
  for (int id = 1; id <= 3; ++id) {
    INFO("node " << id << "'s /metrics");
    CHECK(gauge(c.node(id), "ferry_cluster_registered") == 1);
    CHECK(gauge(c.node(id), "ferry_cluster_nodes") == 3);
    CHECK(gauge(c.node(id), "ferry_cluster_controller") ==
          (id == static_cast<int>(first.first) ? 1 : 0));
  }

  // Killed: its lease expires and one of the others takes over, with a larger epoch.
  std::vector<int> rest;
  for (int id = 1; id <= 3; ++id)
    if (id != static_cast<int>(first.first)) rest.push_back(id);
  const auto killed_at = clock_type::now();
  c.node(static_cast<int>(first.first)).kill_hard();
  const auto second = agreed_controller(c, rest, first.first);
  const auto took = clock_type::now() - killed_at;
  REQUIRE(second.first != 0);
  CHECK(second.first != first.first);
  CHECK(second.second > first.second);
  CHECK(took < 4s);  // lease_ttl_s=1: expiry within about 1-2 s, then one transaction

  // Stopped: its lease is revoked while it drains, and the last node takes over at once.
  const int last = rest.front() == static_cast<int>(second.first) ? rest.back() : rest.front();
  const auto stopped_at = clock_type::now();
  CHECK(c.node(static_cast<int>(second.first)).stop() == 0);
  const auto third = agreed_controller(c, {last}, second.first);
  CHECK(third.first == static_cast<uint32_t>(last));
  CHECK(third.second > second.second);
  CHECK(clock_type::now() - stopped_at < 2s);
}

TEST_CASE("a client given several brokers uses one that answers, and the next when it dies",
          "[cluster]") {
  cluster c(2);
  // Port 1 on loopback refuses: the first connect goes on to node 1.
  auto o = options_for(c.node(1));
  o.brokers = {{"127.0.0.1", 1}, {"127.0.0.1", c.node(1).port()}, {"127.0.0.1", c.node(2).port()}};
  auto r = ferry::client::blocking_client::connect(o);
  REQUIRE(r);
  auto& client = *r.value();
  auto info = client.describe_cluster();
  REQUIRE(info);
  CHECK(info->node_id() == 1);
  // Node 1 dies: the reconnect moves on to node 2.
  c.node(1).kill_hard();
  CHECK(eventually(
      [&] {
        info = client.describe_cluster();
        return info && info->node_id() == 2;
      },
      10s));
  // The CLI takes the same list.
  const auto out =
      run_cli_at("127.0.0.1:1,127.0.0.1:" + std::to_string(c.node(2).port()), "cluster status");
  CHECK(out.out.find("answered by node 2") != std::string::npos);
  // Spaces around an entry are dropped; an entry that is not HOST:PORT is a usage error.
  CHECK(run_cli_at("'127.0.0.1:1, 127.0.0.1:" + std::to_string(c.node(2).port()) + "'",
                   "cluster status")
            .status == 0);
  for (const char* bad : {"127.0.0.1:1,nope", "a:1,,b:2", "a:1,", "a:0"}) {
    INFO(bad);
    const auto refused = run_cli_at(bad, "cluster status");
    CHECK(refused.status == 2);
    CHECK(refused.out.find("--broker must be HOST:PORT") != std::string::npos);
  }
  // libferry refuses an entry without a host or a port before connecting.
  o.brokers = {{"127.0.0.1", c.node(2).port()}, {"", 7411}};
  auto refused = ferry::client::blocking_client::connect(o);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == ferry::errc::invalid_argument);
}

TEST_CASE("a single broker says it is not a cluster", "[cluster]") {
  broker_process b;
  auto client = connect(b);
  auto info = client->describe_cluster();
  REQUIRE(info);
  CHECK_FALSE(info->enabled());
  CHECK(info->nodes_size() == 0);
  CHECK(run_cli(b, "cluster status").find("not a cluster") != std::string::npos);
  CHECK(gauge(b, "ferry_cluster_registered") == 0);
  CHECK(gauge(b, "ferry_cluster_nodes") == 0);
}

TEST_CASE("a killed node leaves within its lease, a stopped one at once", "[cluster]") {
  cluster c(3);
  REQUIRE(c.etcd.range("/ferry/nodes/").size() == 3);

  const auto killed_at = clock_type::now();
  c.node(2).kill_hard();
  REQUIRE(eventually([&] { return !c.etcd.range("/ferry/nodes/").contains(node_key(2)); }, 5s));
  const auto gone_after = clock_type::now() - killed_at;
  // lease_ttl_s=1: etcd checks expiry every 500 ms, so about 1-2 s.
  CHECK(gone_after < 3s);
  CHECK(eventually(
      [&] { return read_file(c.log_of(1)).find("node 2 is gone") != std::string::npos; }, 5s));
  auto client = connect(c.node(1));
  auto info = client->describe_cluster();
  REQUIRE(info);
  CHECK(info->nodes_size() == 2);

  CHECK(c.node(3).stop() == 0);
  // Revoked during the drain, before ferryd exits: gone when stop() returns.
  CHECK_FALSE(c.etcd.range("/ferry/nodes/").contains(node_key(3)));
  CHECK(c.etcd.range("/ferry/nodes/").contains(node_key(1)));
}

TEST_CASE("a restarted node takes its registration back, and another claim on a live id is refused",
          "[cluster]") {
  cluster c(2);
  const auto before = c.etcd.range("/ferry/nodes/").at(node_key(1));
  const int64_t old_lease = c.etcd.lease_of(node_key(1));

  // kill -9 leaves the key under a lease that has not expired yet; the restart on the same
  // data dir recognises its incarnation and takes it over without waiting.
  c.node(1).kill_hard();
  const auto restarted_at = clock_type::now();
  c.node(1).restart();
  CHECK(clock_type::now() - restarted_at < 1s);
  // The value names the same incarnation (node.json kept it), under a new lease; that it
  // did not wait for the old lease to expire is what the time above and the log show.
  CHECK(c.etcd.range("/ferry/nodes/").at(node_key(1)) == before);
  CHECK(c.etcd.lease_of(node_key(1)) != old_lease);
  CHECK(read_file(c.log_of(1)).find("took over this node's registration") != std::string::npos);

  // Another data dir claiming node 2 while node 2 lives: refused once join_timeout_ms is over.
  const std::string log = c.dir + "/impostor.log";
  CHECK_THROWS(broker_process(node_args(c.etcd, 2, {"--set", "cluster.join_timeout_ms=1500"}),
                              std::string(), log));
  const auto said = read_file(log);
  CHECK(said.find("node id 2 is registered by 127.0.0.1:" + std::to_string(c.node(2).port())) !=
        std::string::npos);
  CHECK(c.etcd.range("/ferry/nodes/").at(node_key(2)).find(advertised(c.node(2))) !=
        std::string::npos);
}

TEST_CASE("a data dir remembers its node id and refuses another", "[cluster]") {
  etcd_process etcd;
  const std::string dir = make_temp_dir("ferry-cluster-dir");
  { broker_process first(node_args(etcd, 1), dir); }
  const std::string log = dir + "-log";
  CHECK_THROWS(broker_process(node_args(etcd, 5), dir, log));
  CHECK(read_file(log).find("belongs to node 1") != std::string::npos);
  CHECK_FALSE(etcd.range("/ferry/nodes/").contains(node_key(5)));
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
  std::filesystem::remove(log, ec);
}

TEST_CASE("a node that loses etcd stops being ready, and is ready again when etcd is back",
          "[cluster]") {
  cluster c(1);
  auto& n = c.node(1);
  REQUIRE(http_call(n.http_port(), "GET", "/readyz").status == 200);

  c.etcd.kill_hard();
  // Not ready once its lease may have expired: within lease_ttl_s plus a renewal period.
  http_result r;
  CHECK(eventually(
      [&] {
        r = http_call(n.http_port(), "GET", "/readyz");
        return r.status == 503;
      },
      4s));
  CHECK(r.body.find("cluster:") != std::string::npos);

  c.etcd.restart();
  CHECK(eventually([&] { return http_call(n.http_port(), "GET", "/readyz").status == 200; }, 10s));
  CHECK(eventually([&] { return c.etcd.range("/ferry/nodes/").contains(node_key(1)); }, 5s));
}

TEST_CASE("cluster options are checked before anything starts", "[cluster]") {
  const std::string dir = make_temp_dir("ferry-cluster-opts"), log = dir + "/log";
  CHECK_THROWS(broker_process({"--set", "cluster.etcd=http://127.0.0.1:1"}, std::string(), log));
  CHECK(read_file(log).find("cluster.etcd needs cluster.node_id") != std::string::npos);
  CHECK_THROWS(broker_process({"--set", "cluster.etcd=nohost", "--set", "cluster.node_id=1"},
                              std::string(), log));
  CHECK(read_file(log).find("is not an etcd endpoint") != std::string::npos);
  // etcd not there: ferryd gives up after join_timeout_ms, saying why.
  CHECK_THROWS(broker_process({"--set", "cluster.etcd=http://127.0.0.1:1", "--set",
                               "cluster.node_id=1", "--set", "cluster.join_timeout_ms=500"},
                              std::string(), log));
  CHECK(read_file(log).find("cannot register in etcd") != std::string::npos);
  std::error_code ec;
  std::filesystem::remove_all(dir, ec);
}
