// Topic definitions in a cluster (docs/CLUSTER.md, section 2): they live in etcd, so a
// topic created or deleted on one node is created or deleted on every node; a name is one
// topic in the cluster (a second creation, on any node, is refused by etcd's
// compare-and-swap); a node that was away catches up before it serves. Real ferryd
// processes against a real etcd, whose keys the test reads with its own client.
#include <atomic>
#include <chrono>
#include <optional>
#include <set>
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

}  // namespace

TEST_CASE("a topic created on one node is on every node, and so is its deletion",
          "[cluster][topics]") {
  cluster c(3);
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
  // A topic learnt from the cluster takes publishes like one created here.
  auto three = connect(c.node(3));
  CHECK(publish(*three, "orders", "first").has_offset);

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
  REQUIRE(one->create_topic(topic_request("kept", v1::LOG)));
  REQUIRE(one->create_topic(topic_request("dropped", v1::MEMORY)));
  REQUIRE(eventually(
      [&] {
        return topics_of(c.node(3)) == std::set<std::string>{"dropped", "kept"};
      },
      5s));
  {
    auto three = connect(c.node(3));
    REQUIRE(publish(*three, "kept", "on node 3").offset == 0);
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
  REQUIRE(kept->partitions_size() == 1);
  CHECK(kept->partitions(0).log_end() == 1);
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
}
