// Topic definitions in a cluster (docs/CLUSTER.md, section 2): they live in etcd, so a
// topic created or deleted on one node is created or deleted on every node; a name is one
// topic in the cluster (a second creation, on any node, is refused by etcd's
// compare-and-swap); a node that was away catches up before it serves. Real ferryd
// processes against a real etcd, whose keys the test reads with its own client.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <optional>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <boost/json/parse.hpp>
#include <boost/json/value.hpp>
#include <catch2/catch.hpp>

#include "tests/support/client_helpers.h"
#include "tests/support/cluster_harness.h"
#include "tests/support/http_client.h"
#include "tests/support/test_helpers.h"

using namespace ferry::testing;
using namespace std::chrono_literals;
namespace v1 = ferry::v1;

namespace {

v1::CreateTopic topic_request(const std::string& name, v1::TopicKind kind,
                              uint32_t partitions = 0) {
  v1::CreateTopic req;
  req.set_name(name);
  req.set_kind(kind);
  if (partitions != 0) req.mutable_options()->set_partitions(partitions);
  return req;
}

// The names of the topics `node` has, in order.
std::set<std::string> topics_of(broker_process& node) {
  auto client = connect(node);
  auto list = client->list_topics();
  REQUIRE(list);
  std::set<std::string> names;
  for (const auto& t : list->topics())
    names.insert(t.name());
  return names;
}

// The kind of topic `name` on `node`; nullopt when it has none.
std::optional<v1::TopicKind> kind_on(broker_process& node, const std::string& name) {
  auto client = connect(node);
  auto info = client->describe_topic(name);
  if (!info) return std::nullopt;
  return info->kind();
}

// The partition of `topic` that node `id` leads, once `node` knows (the test fails if
// none within 5 s).
uint32_t partition_led_by(broker_process& node, const std::string& topic, uint32_t id) {
  auto client = connect(node);
  std::optional<uint32_t> led;
  REQUIRE(eventually(
      [&] {
        const auto info = cluster_info(*client);
        for (const auto& p : info.partitions())
          if (p.topic() == topic && p.leader() == id) led = p.partition();
        return led.has_value();
      },
      5s));
  return *led;
}

// Publishes `payload` to partition `p` of `topic` through `client`.
ferry::client::result<ferry::client::publish_result> publish_to(
    ferry::client::blocking_client& client, const std::string& topic, uint32_t p,
    const std::string& payload) {
  ferry::client::message m(payload);
  m.partition = p;
  return client.publish(topic, std::move(m));
}

}  // namespace

TEST_CASE("a topic created on one node is on every node, and so is its deletion",
          "[cluster][topics]") {
  cluster c(3);
  REQUIRE(c.settled());
  auto one = connect(c.node(1));
  REQUIRE(one->create_topic(topic_request("orders", v1::LOG, 3)));
  REQUIRE(one->create_topic(topic_request("alerts", v1::MEMORY)));

  // In etcd once, as JSON without this node's topic id.
  const auto keys = c.etcd.range("/ferry/topics/");
  REQUIRE(keys.size() == 2);
  const auto& orders = keys.at("/ferry/topics/orders");
  CHECK(orders.find("\"name\":\"orders\"") != std::string::npos);
  CHECK(orders.find("\"partitions\":3") != std::string::npos);
  CHECK(orders.find("topic_id") == std::string::npos);

  for (int id : {2, 3}) {
    INFO("node " << id);
    REQUIRE(eventually(
        [&] {
          return topics_of(c.node(id)) == std::set<std::string>{"alerts", "orders"};
        },
        5s));
    auto client = connect(c.node(id));
    auto info = client->describe_topic("orders");
    REQUIRE(info);
    CHECK(info->kind() == v1::LOG);
    CHECK(info->partitions_size() == 3);
    CHECK(kind_on(c.node(id), "alerts") == v1::MEMORY);
  }
  // A topic learnt from the cluster takes publishes like one created here (to the
  // partitions this node leads).
  auto three = connect(c.node(3));
  CHECK(publish_to(*three, "orders", partition_led_by(c.node(3), "orders", 3), "first"));

  auto two = connect(c.node(2));
  v1::DeleteTopic del;
  del.set_name("orders");
  REQUIRE(two->delete_topic(del));
  CHECK(c.etcd.range("/ferry/topics/").count("/ferry/topics/orders") == 0);
  for (int id : {1, 3}) {
    INFO("node " << id);
    CHECK(eventually([&] { return topics_of(c.node(id)) == std::set<std::string>{"alerts"}; }, 5s));
  }
}

TEST_CASE("a name is one topic in the cluster: a second creation on any node is refused",
          "[cluster][topics]") {
  cluster c(3);
  auto one = connect(c.node(1));
  auto two = connect(c.node(2));
  REQUIRE(one->create_topic(topic_request("jobs", v1::MEMORY)));
  // Refused on node 2 whether or not it has heard of "jobs" yet: etcd has the name.
  auto again = two->create_topic(topic_request("jobs", v1::LOG));
  REQUIRE_FALSE(again);
  CHECK(again.err().code == ferry::errc::topic_exists);
  CHECK(eventually([&] { return kind_on(c.node(2), "jobs") == v1::MEMORY; }, 5s));

  // Two nodes racing for one name, with different kinds, several times: one wins each race
  // and every node ends with the winner's kind.
  for (int round = 0; round < 5; ++round) {
    const std::string name = "race-" + std::to_string(round);
    std::atomic<int> won{0};
    auto create = [&](ferry::client::blocking_client& client, v1::TopicKind kind) {
      auto r = client.create_topic(topic_request(name, kind));
      if (r) {
        ++won;
      } else {
        CHECK(r.err().code == ferry::errc::topic_exists);
      }
    };
    std::thread a([&] { create(*one, v1::MEMORY); });
    std::thread b([&] { create(*two, v1::LOG); });
    a.join();
    b.join();
    INFO(name);
    CHECK(won == 1);
    CHECK(eventually(
        [&] {
          const auto k = kind_on(c.node(3), name);
          return k && kind_on(c.node(1), name) == k && kind_on(c.node(2), name) == k;
        },
        5s));
  }
}

TEST_CASE("a node that was away catches up with the cluster's topics before it serves",
          "[cluster][topics]") {
  cluster c(3);
  auto one = connect(c.node(1));
  REQUIRE(c.settled());
  REQUIRE(one->create_topic(topic_request("kept", v1::LOG, 3)));  // one partition led by each
  REQUIRE(one->create_topic(topic_request("dropped", v1::MEMORY)));
  REQUIRE(eventually(
      [&] {
        return topics_of(c.node(3)) == std::set<std::string>{"dropped", "kept"};
      },
      5s));
  const uint32_t mine = partition_led_by(c.node(3), "kept", 3);
  {
    auto three = connect(c.node(3));
    REQUIRE(publish_to(*three, "kept", mine, "on node 3"));
  }
  REQUIRE(c.node(3).stop() == 0);

  v1::DeleteTopic del;
  del.set_name("dropped");
  REQUIRE(one->delete_topic(del));
  REQUIRE(one->create_topic(topic_request("added", v1::LOG, 2)));

  c.node(3).restart();
  // No waiting: a node serves once it has read the cluster's topics.
  CHECK(topics_of(c.node(3)) == std::set<std::string>{"added", "kept"});
  // A topic it already had, unchanged in the cluster, keeps its records.
  auto three = connect(c.node(3));
  auto kept = three->describe_topic("kept");
  REQUIRE(kept);
  REQUIRE(kept->partitions_size() == 3);
  CHECK(kept->partitions(static_cast<int>(mine)).log_end() == 1);
}

TEST_CASE("without etcd a topic cannot be created, and the refusal is clear", "[cluster][topics]") {
  cluster c(1);
  auto one = connect(c.node(1));
  c.etcd.kill_hard();
  const auto started = std::chrono::steady_clock::now();
  auto r = one->create_topic(topic_request("orphan", v1::LOG));
  REQUIRE_FALSE(r);
  CHECK(r.err().code == ferry::errc::timeout);
  CHECK(r.err().message.find("etcd") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - started < 5s);
  CHECK(topics_of(c.node(1)).empty());  // undone here too

  c.etcd.restart();
  CHECK(eventually(
      [&] { return static_cast<bool>(one->create_topic(topic_request("orphan", v1::LOG))); }, 10s));
  CHECK(c.etcd.range("/ferry/topics/").count("/ferry/topics/orphan") == 1);

  // A deletion etcd does not take is refused too; the node, which dropped the topic at
  // once, has it back from etcd once etcd answers again.
  c.etcd.kill_hard();
  v1::DeleteTopic del;
  del.set_name("orphan");
  auto gone = one->delete_topic(del);
  REQUIRE_FALSE(gone);
  CHECK(gone.err().code == ferry::errc::timeout);
  CHECK(topics_of(c.node(1)).empty());
  c.etcd.restart();
  REQUIRE(eventually([&] { return topics_of(c.node(1)) == std::set<std::string>{"orphan"}; }, 10s));
  // Stored as it is known: after a restart the node has the topic it got back, with the
  // record published to it since (not the one it dropped).
  REQUIRE(eventually([&] { return static_cast<bool>(publish_to(*one, "orphan", 0, "kept")); }, 5s));
  c.node(1).stop();
  c.node(1).restart();
  auto again = connect(c.node(1));
  auto orphan = again->describe_topic("orphan");
  REQUIRE(orphan);
  CHECK(orphan->partitions(0).log_end() == 1);
}

TEST_CASE("a log topic's partitions are placed over the nodes, each led by one, and go with it",
          "[cluster][topics][placement]") {
  cluster c(3);
  auto one = connect(c.node(1));
  REQUIRE(c.settled());
  auto created = one->create_topic(topic_request("orders", v1::LOG, 3));
  REQUIRE(created);
  CHECK(created->options().replication_factor() == 3);  // the default, resolved
  CHECK(c.etcd.range("/ferry/partitions/orders/").size() == 3);

  auto two = connect(c.node(2));
  REQUIRE(eventually([&] { return cluster_info(*two).partitions_size() == 3; }, 5s));
  std::set<uint32_t> leaders;
  const v1::ClusterInfo info = cluster_info(*two);
  for (const auto& p : info.partitions()) {
    INFO(p.topic() << "/" << p.partition());
    CHECK(p.topic() == "orders");
    const std::set<uint32_t> replicas(p.replicas().begin(), p.replicas().end());
    CHECK(replicas == std::set<uint32_t>{1, 2, 3});
    CHECK(p.leader() == p.replicas(0));
    CHECK(p.leader_epoch() == 1);
    CHECK(std::equal(p.isr().begin(), p.isr().end(), p.replicas().begin(), p.replicas().end()));
    leaders.insert(p.leader());
  }
  CHECK(leaders.size() == 3);  // one partition led by each node

  std::string cmd = FERRY_CLI_PATH;
  cmd.append(" --broker 127.0.0.1:").append(std::to_string(c.node(3).port()));
  cmd.append(" cluster status");
  REQUIRE(eventually(
      [&] {
        return run_command(cmd).out.find("partitions: 3 (0 under-replicated)") != std::string::npos;
      },
      5s));
  const auto status = run_command(cmd).out;
  for (int p = 0; p < 3; ++p)
    CHECK(status.find("partition orders/" + std::to_string(p) + "\tleader ") != std::string::npos);

  v1::DeleteTopic del;
  del.set_name("orders");
  REQUIRE(two->delete_topic(del));
  CHECK(c.etcd.range("/ferry/partitions/orders/").empty());
  CHECK(eventually(
      [&] {
        const auto body = http_call(c.node(3).http_port(), "GET", "/metrics").body;
        return metric_sample(body, "ferry_cluster_partitions") == 0 &&
               metric_sample(body, "ferry_cluster_under_replicated_partitions") == 0;
      },
      5s));
}

TEST_CASE("a log topic takes fewer copies when asked, and no more than the live nodes",
          "[cluster][topics][placement]") {
  cluster c(3);
  auto one = connect(c.node(1));
  REQUIRE(c.settled());
  v1::CreateTopic pairs = topic_request("pairs", v1::LOG, 2);
  pairs.mutable_options()->set_replication_factor(2);
  REQUIRE(one->create_topic(pairs));
  for (const auto& [key, value] : c.etcd.range("/ferry/partitions/pairs/")) {
    INFO(key << " = " << value);
    const auto state = boost::json::parse(value).as_object();
    CHECK(state.at("replicas").as_array().size() == 2);
    CHECK(state.at("isr") == state.at("replicas"));
  }
  v1::CreateTopic four = topic_request("four", v1::LOG);
  four.mutable_options()->set_replication_factor(4);
  auto refused = one->create_topic(four);
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == ferry::errc::invalid_argument);
  CHECK(refused.err().message.find("the cluster has 3") != std::string::npos);
  v1::CreateTopic copied = topic_request("copied", v1::MEMORY);
  copied.mutable_options()->set_replication_factor(2);
  CHECK(one->create_topic(copied).err().code == ferry::errc::invalid_argument);
}

TEST_CASE("a broker alone refuses copies it cannot make", "[cluster][topics][placement]") {
  broker_process alone;
  auto client = connect(alone);
  v1::CreateTopic req = topic_request("orders", v1::LOG);
  req.mutable_options()->set_replication_factor(2);
  auto r = client->create_topic(req);
  REQUIRE_FALSE(r);
  CHECK(r.err().code == ferry::errc::invalid_argument);
  CHECK(r.err().message.find("needs a cluster") != std::string::npos);
  req.mutable_options()->set_replication_factor(1);
  CHECK(client->create_topic(req));
}

TEST_CASE("a partition takes publishes on its leader, and the others name the leader",
          "[cluster][topics][leader]") {
  cluster c(3);
  auto one = connect(c.node(1));
  REQUIRE(c.settled());
  REQUIRE(one->create_topic(topic_request("orders", v1::LOG, 3)));
  const uint32_t p = partition_led_by(c.node(1), "orders", 2);

  // Node 1 does not lead partition p: the publish is refused, naming the leader.
  auto refused = publish_to(*one, "orders", p, "misdirected");
  REQUIRE_FALSE(refused);
  CHECK(refused.err().code == ferry::errc::not_leader);
  const std::string leader_at = "led by node 2 at 127.0.0.1:" + std::to_string(c.node(2).port());
  CHECK(refused.err().message.find(leader_at) != std::string::npos);
  auto two = connect(c.node(2));
  auto taken = publish_to(*two, "orders", p, "on the leader");
  REQUIRE(taken);
  CHECK(taken->offset == 0);

  // The leader goes: the new one takes the partition's publishes, the others refuse them.
  c.node(2).kill_hard();
  uint32_t next = 0;
  REQUIRE(eventually(
      [&] {
        const auto info = cluster_info(*one);
        for (const auto& part : info.partitions())
          if (part.topic() == "orders" && part.partition() == p) next = part.leader();
        return next != 0 && next != 2;
      },
      8s));
  const int other = next == 1 ? 3 : 1;
  auto leader = connect(c.node(static_cast<int>(next)));
  CHECK(eventually([&] { return static_cast<bool>(publish_to(*leader, "orders", p, "new")); }, 5s));
  auto follower = connect(c.node(other));
  CHECK(publish_to(*follower, "orders", p, "no").err().code == ferry::errc::not_leader);
}

TEST_CASE(
    "a leader cut off from etcd stops taking publishes within its lease, and takes them "
    "again when it is back",
    "[cluster][topics][leader]") {
  cluster c(1);
  REQUIRE(c.settled());
  auto one = connect(c.node(1));
  REQUIRE(one->create_topic(topic_request("orders", v1::LOG)));
  REQUIRE(eventually([&] { return static_cast<bool>(publish_to(*one, "orders", 0, "a")); }, 5s));
  c.etcd.kill_hard();
  ferry::error refused;
  REQUIRE(eventually(
      [&] {
        auto r = publish_to(*one, "orders", 0, "b");
        if (!r) refused = r.err();
        return !r;
      },
      4s));  // the lease is 1 s
  CHECK(refused.code == ferry::errc::not_leader);
  CHECK(refused.message.find("registration in etcd may have lapsed") != std::string::npos);
  c.etcd.restart();
  CHECK(eventually([&] { return static_cast<bool>(publish_to(*one, "orders", 0, "c")); }, 10s));
}
