// The session hub's flow control over fake sessions: memory and storage both block
// publishing, every session is told why, and held publishes drain only when neither does.
#include "broker/session/session_hub.h"

#include <catch2/catch.hpp>

using namespace ferry::broker;

namespace {

struct fake_session final : hub_member {
  explicit fake_session(uint64_t i) : id_(i) {}
  uint64_t id() const override { return id_; }
  bool handshaken() const override { return true; }
  void flush() override { ++flushes; }
  void drain_deferred() override { ++drains; }
  void on_flow_change(bool blocked, std::string_view why) override {
    changes.emplace_back(blocked, std::string(why));
  }
  void begin_drain() override {}
  void shut_down() override {}
  void close_consumers() override {}

  uint64_t id_;
  int flushes = 0, drains = 0;
  std::vector<std::pair<bool, std::string>> changes;
};

}  // namespace

TEST_CASE("a storage write stall blocks publishers with its reason until it ends",
          "[session][flow]") {
  memory_accountant memory;
  memory.set_limits(1000, 800);
  session_hub hub(memory, {});
  auto a = std::make_shared<fake_session>(1);
  auto b = std::make_shared<fake_session>(2);
  hub.add(a);
  hub.add(b);
  hub.mark_deferring(a);  // a holds publishes back

  hub.set_storage_stopped(true, "30 level-0 files of log records");
  CHECK(hub.flow_blocked());
  REQUIRE(a->changes.size() == 1);
  CHECK(a->changes[0].first);
  CHECK(a->changes[0].second.find("storage") != std::string::npos);
  CHECK(a->changes[0].second.find("30 level-0 files") != std::string::npos);
  CHECK(b->changes.size() == 1);
  CHECK(a->drains == 0);  // nothing held is handled while blocked

  memory.add(1500);  // memory over its mark too: still one blocked state, no new notice
  hub.set_storage_stopped(false, {});
  CHECK(hub.flow_blocked());
  CHECK(a->changes.size() == 1);
  memory.sub(1500);
  hub.flush();
  CHECK_FALSE(hub.flow_blocked());
  REQUIRE(a->changes.size() == 2);
  CHECK_FALSE(a->changes[1].first);
  CHECK(a->drains == 1);  // and what a held drains now
}

TEST_CASE("the memory high-water mark blocks publishers and says so", "[session][flow]") {
  memory_accountant memory;
  memory.set_limits(1000, 800);
  session_hub hub(memory, {});
  auto a = std::make_shared<fake_session>(1);
  hub.add(a);
  memory.add(1200);
  hub.flush();
  REQUIRE(a->changes.size() == 1);
  CHECK(a->changes[0].second.find("memory") != std::string::npos);
  memory.sub(300);  // 900: above the low-water mark, still blocked
  hub.flush();
  CHECK(a->changes.size() == 1);
  memory.sub(200);
  hub.flush();
  CHECK(a->changes.size() == 2);
}
