#include "broker/cluster/placement.h"

#include <map>
#include <set>
#include <string>

#include <catch2/catch.hpp>

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
