#include "broker/cluster/placement.h"

#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>

#include "broker/cluster/cluster_settings.h"

using namespace ferry::broker;

TEST_CASE("each partition gets distinct replicas, and leadership spreads over the nodes",
          "[cluster][placement]") {
  const auto placed = place_partitions("orders", 6, 3, {3, 1, 2});
  REQUIRE(placed.size() == 6);
  std::map<uint32_t, int> led;
  for (const auto& p : placed) {
    REQUIRE(p.replicas.size() == 3);
    CHECK(std::set<uint32_t>(p.replicas.begin(), p.replicas.end()) == std::set<uint32_t>{1, 2, 3});
    CHECK(p.leader == p.replicas.front());
    CHECK(p.leader_epoch == 1);
    CHECK(p.isr == p.replicas);
    CHECK_FALSE(p.under_replicated());
    ++led[p.leader];
  }
  CHECK(led == std::map<uint32_t, int>{{1, 2}, {2, 2}, {3, 2}});
}

TEST_CASE("fewer copies than nodes still spread, and more are capped at the nodes",
          "[cluster][placement]") {
  const auto two = place_partitions("t", 4, 2, {1, 2, 3, 4});
  std::map<uint32_t, int> copies;
  for (const auto& p : two) {
    REQUIRE(p.replicas.size() == 2);
    CHECK(p.replicas[0] != p.replicas[1]);
    for (auto id : p.replicas)
      ++copies[id];
  }
  CHECK(copies == std::map<uint32_t, int>{{1, 2}, {2, 2}, {3, 2}, {4, 2}});
  CHECK(place_partitions("t", 1, 5, {7, 7, 8})[0].replicas.size() == 2);  // duplicates once
  CHECK(place_partitions("t", 1, 0, {1, 2})[0].replicas.size() == 1);
  CHECK(place_partitions("t", 2, 3, {})[1].replicas.empty());
}

TEST_CASE("a partition's state reads back as written, and garbage is refused",
          "[cluster][placement]") {
  partition_state st;
  st.replicas = {2, 3, 1};
  st.leader = 3;
  st.leader_epoch = 7;
  st.isr = {3, 1};
  const std::string text = encode_partition_state(st);
  CHECK(text == R"({"replicas":[2,3,1],"leader":3,"leader_epoch":7,"isr":[3,1]})");
  partition_state back;
  REQUIRE(decode_partition_state(text, back));
  CHECK(back.replicas == st.replicas);
  CHECK(back.leader == 3);
  CHECK(back.leader_epoch == 7);
  CHECK(back.isr == st.isr);
  CHECK(back.under_replicated());
  for (const char* bad : {"", "[]", "{", R"({"replicas":[1],"leader":1,"isr":[1]})",
                          R"({"replicas":["a"],"leader":1,"leader_epoch":1,"isr":[]})",
                          R"({"replicas":[-1],"leader":1,"leader_epoch":1,"isr":[]})"}) {
    INFO(bad);
    CHECK_FALSE(decode_partition_state(bad, back));
  }
}

TEST_CASE("a dead leader is replaced by the first live in-sync replica, never by another",
          "[cluster][placement]") {
  partition_state st;
  st.replicas = {1, 2, 3};
  st.leader = 1;
  st.leader_epoch = 4;
  st.isr = {1, 3};  // 2 is behind

  CHECK_FALSE(next_leadership(st, {1, 2, 3}));  // nothing to do

  auto next = next_leadership(st, {2, 3});
  REQUIRE(next);
  CHECK(next->leader == 3);  // not 2: out of sync
  CHECK(next->leader_epoch == 5);
  CHECK(next->isr == std::vector<uint32_t>{3});
  CHECK(next->replicas == st.replicas);

  // A dead follower leaves the ISR; the leader and its epoch stay.
  next = next_leadership(st, {1, 2});
  REQUIRE(next);
  CHECK(next->leader == 1);
  CHECK(next->leader_epoch == 4);
  CHECK(next->isr == std::vector<uint32_t>{1});

  // No live in-sync replica: no leader, and the ISR is kept for when one returns.
  next = next_leadership(st, {2});
  REQUIRE(next);
  CHECK(next->leader == 0);
  CHECK(next->leader_epoch == 5);
  CHECK(next->isr == st.isr);
  auto back = next_leadership(*next, {2, 3});
  REQUIRE(back);
  CHECK(back->leader == 3);
  CHECK(back->leader_epoch == 6);
  CHECK(back->isr == std::vector<uint32_t>{3});
  CHECK_FALSE(next_leadership(*next, {2}));  // still none: nothing to write
}

TEST_CASE("a StatefulSet pod's host name gives its node id, other names are refused",
          "[cluster][settings]") {
  uint32_t id = 0;
  CHECK(node_id_of_hostname("ferryd-0", id).empty());
  CHECK(id == 1);
  CHECK(node_id_of_hostname("my-ferry-12", id).empty());
  CHECK(id == 13);
  for (const char* bad : {"ferryd", "ferryd-", "ferryd-x", "-", "", "ferryd-1a", "f-99999999999"}) {
    INFO(bad);
    CHECK_FALSE(node_id_of_hostname(bad, id).empty());
  }
}
