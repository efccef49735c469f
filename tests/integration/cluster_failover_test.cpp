// Partition leadership when nodes die and return (docs/CLUSTER.md, section 5): the
// controller moves a dead leader's partitions to live in-sync replicas with a larger
// leader epoch, drops dead nodes from the ISR, never elects a replica outside the ISR,
// and leaves a partition leaderless while none of its in-sync replicas is alive. Real
// ferryd processes and a real etcd; the partitions' state is read from the survivors.
#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <catch2/catch.hpp>

#include "tests/support/client_helpers.h"
#include "tests/support/cluster_harness.h"
#include "tests/support/test_helpers.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
namespace v1 = ferry::v1;

namespace {

v1::ClusterInfo cluster_info(broker_process& node) {
  return ferry::testing::cluster_info(*connect(node));
}

// Partition `p` of `topic` as `node` sees it (the test fails if it has none).
v1::ClusterPartition partition_on(broker_process& node, const std::string& topic, uint32_t p) {
  const auto info = cluster_info(node);
  for (const auto& part : info.partitions())
    if (part.topic() == topic && part.partition() == p) return part;
  FAIL("node sees no partition " << topic << "/" << p);
  return {};
}

bool holds(const google::protobuf::RepeatedField<uint32_t>& ids, uint32_t id) {
  return std::find(ids.begin(), ids.end(), id) != ids.end();
}

void create_log_topic(broker_process& node, const std::string& name, uint32_t partitions,
                      uint32_t replication_factor) {
  auto client = connect(node);
  v1::CreateTopic req;
  req.set_name(name);
  req.set_kind(v1::LOG);
  req.mutable_options()->set_partitions(partitions);
  req.mutable_options()->set_replication_factor(replication_factor);
  REQUIRE(client->create_topic(req));
}

}  // namespace

TEST_CASE("a dead leader's partition is led by a live in-sync replica with a larger epoch",
          "[cluster][failover]") {
  cluster c(3);
  REQUIRE(c.settled());
  create_log_topic(c.node(1), "orders", 3, 3);
  REQUIRE(eventually([&] { return cluster_info(c.node(2)).partitions_size() == 3; }, 5s));
  const auto before = partition_on(c.node(2), "orders", 0);
  const uint32_t dead = before.leader();
  const int survivor = dead == 1 ? 2 : 1;

  const auto killed_at = std::chrono::steady_clock::now();
  c.node(static_cast<int>(dead)).kill_hard();
  REQUIRE(eventually(
      [&] {
        const auto p = partition_on(c.node(survivor), "orders", 0);
        return p.leader() != dead && p.leader() != 0;
      },
      8s));
  const auto took = std::chrono::steady_clock::now() - killed_at;
  INFO("new leader after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
                           << " ms");
  CHECK(took < 4s);  // the lease (1 s here), the election, one transaction
  const auto after = partition_on(c.node(survivor), "orders", 0);
  CHECK(after.leader_epoch() == before.leader_epoch() + 1);
  CHECK(holds(before.isr(), after.leader()));
  CHECK_FALSE(holds(after.isr(), dead));
  // Every partition is led by a live node, and none keeps the dead node in sync.
  REQUIRE(eventually(
      [&] {
        const auto info = cluster_info(c.node(survivor));
        for (const auto& p : info.partitions())
          if (p.leader() == dead || p.leader() == 0 || holds(p.isr(), dead)) return false;
        return true;
      },
      5s));

  // Back, it is a replica that has not caught up: not in sync, and not the leader.
  c.node(static_cast<int>(dead)).restart();
  REQUIRE(c.settled());                // the controller has seen it back,
  std::this_thread::sleep_for(500ms);  // and had time to (wrongly) act on it
  const auto info = cluster_info(c.node(survivor));
  for (const auto& p : info.partitions()) {
    INFO("partition " << p.partition());
    CHECK(p.leader() != dead);
    CHECK_FALSE(holds(p.isr(), dead));
    CHECK(holds(p.replicas(), dead));
  }
}

TEST_CASE("with no in-sync replica alive a partition waits leaderless for one to return",
          "[cluster][failover]") {
  cluster c(3);
  REQUIRE(c.settled());
  create_log_topic(c.node(1), "pair", 1, 2);
  REQUIRE(eventually([&] { return cluster_info(c.node(1)).partitions_size() == 1; }, 5s));
  const auto placed = partition_on(c.node(1), "pair", 0);
  REQUIRE(placed.replicas_size() == 2);
  const uint32_t first = placed.leader();
  const uint32_t second = placed.replicas(0) == first ? placed.replicas(1) : placed.replicas(0);
  const int other = 6 - static_cast<int>(first) - static_cast<int>(second);  // the third node

  // The leader goes first: the other replica leads, alone in sync.
  c.node(static_cast<int>(first)).kill_hard();
  REQUIRE(
      eventually([&] { return partition_on(c.node(other), "pair", 0).leader() == second; }, 8s));
  // Then the last in-sync replica: no leader, and it stays the ISR.
  c.node(static_cast<int>(second)).kill_hard();
  REQUIRE(eventually([&] { return partition_on(c.node(other), "pair", 0).leader() == 0; }, 8s));
  auto p = partition_on(c.node(other), "pair", 0);
  CHECK(p.isr_size() == 1);
  CHECK(p.isr(0) == second);

  // The replica that fell out of sync returns: it may lack confirmed records, so it does
  // not lead.
  c.node(static_cast<int>(first)).restart();
  REQUIRE(c.settled());                // the controller has seen it back,
  std::this_thread::sleep_for(500ms);  // and had time to (wrongly) act on it
  CHECK(partition_on(c.node(other), "pair", 0).leader() == 0);
  // The in-sync one returns and leads.
  c.node(static_cast<int>(second)).restart();
  CHECK(eventually([&] { return partition_on(c.node(other), "pair", 0).leader() == second; }, 5s));
}

TEST_CASE("a leader that stops cleanly hands its partitions over at once", "[cluster][failover]") {
  cluster c(3, {"--set", "cluster.lease_ttl_s=6"});  // an expiry would take 4 s or more
  REQUIRE(c.settled());
  create_log_topic(c.node(1), "orders", 1, 3);
  REQUIRE(eventually([&] { return cluster_info(c.node(1)).partitions_size() == 1; }, 5s));
  const uint32_t leader = partition_on(c.node(1), "orders", 0).leader();
  const int survivor = leader == 1 ? 2 : 1;
  const auto stopping = std::chrono::steady_clock::now();
  REQUIRE(c.node(static_cast<int>(leader)).stop() == 0);
  // Its lease is revoked while it drains: no wait for the lease to expire.
  REQUIRE(eventually(
      [&] {
        const auto p = partition_on(c.node(survivor), "orders", 0);
        return p.leader() != leader && p.leader() != 0;
      },
      5s));
  CHECK(std::chrono::steady_clock::now() - stopping < 4s);  // the lease would take 4-6 s
}
