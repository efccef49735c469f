// Consumer groups against a real ferryd, through raw frames: spreading partitions,
// revoke-before-assign, members that vanish or go silent, committed offsets.
#include <map>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/log_helpers.h"
#include "tests/support/raw_client.h"

using namespace ferry::testing;
namespace v1 = ferry::v1;

namespace {

// One group member on its own connection: tracks what it owns from ConsumeLogOk and
// Assignment pushes.
class member {
 public:
  member(const broker_process& b, const std::string& group, uint32_t session_timeout_ms = 30000)
      : c_(b.host(), b.port()) {
    c_.handshake();
    v1::Frame f;
    auto* cl = f.mutable_consume_log();
    cl->set_topic("g.topic");
    cl->set_group(group);
    cl->set_credit(1000);
    cl->set_session_timeout_ms(session_timeout_ms);
    auto r = c_.request(f);
    REQUIRE(r.has_consume_log_ok());
    consumer_id_ = r.consume_log_ok().consumer_id();
    member_id_ = r.consume_log_ok().member_id();
    for (const auto& a : r.consume_log_ok().assigned())
      owned_.insert(a.partition());
  }

  // Reads pushes for `window`; answers revocations with RevokeDone unless told not to.
  void poll(std::chrono::milliseconds window, bool answer_revokes = true) {
    auto until = std::chrono::steady_clock::now() + window;
    while (std::chrono::steady_clock::now() < until) {
      auto f = c_.read_frame(std::chrono::milliseconds(20));
      if (!f || !f->has_assignment()) continue;
      const auto& a = f->assignment();
      for (uint32_t p : a.revoked()) {
        owned_.erase(p);
        pending_revokes_.push_back(a.generation());
      }
      for (const auto& pa : a.assigned())
        owned_.insert(pa.partition());
      if (answer_revokes) answer();
    }
  }
  void answer() {
    for (uint64_t gen : pending_revokes_) {
      v1::Frame f;
      f.mutable_revoke_done()->set_consumer_id(consumer_id_);
      f.mutable_revoke_done()->set_generation(gen);
      c_.send_frame(f);
    }
    pending_revokes_.clear();
  }
  v1::Frame commit(uint32_t partition, uint64_t offset) {
    v1::Frame f;
    auto* co = f.mutable_commit_offsets();
    co->set_group("workers");
    co->set_topic("g.topic");
    co->set_consumer_id(consumer_id_);
    auto* po = co->add_offsets();
    po->set_partition(partition);
    po->set_offset(offset);
    return c_.request(f);
  }
  const std::set<uint32_t>& owned() const { return owned_; }
  const std::string& id() const { return member_id_; }
  raw_client& conn() { return c_; }

 private:
  raw_client c_;
  uint64_t consumer_id_ = 0;
  std::string member_id_;
  std::set<uint32_t> owned_;
  std::vector<uint64_t> pending_revokes_;
};

void setup(const broker_process& b, uint32_t partitions) {
  raw_client c(b.host(), b.port());
  c.handshake();
  REQUIRE(create_log_topic(c, "g.topic", partitions).has_topic_info());
}

// Every partition has exactly one owner among `members`.
void expect_spread(std::vector<member*> members, uint32_t partitions) {
  std::map<uint32_t, int> owners;
  for (auto* m : members)
    for (uint32_t p : m->owned())
      ++owners[p];
  CHECK(owners.size() == partitions);
  for (auto& [p, n] : owners)
    CHECK(n == 1);
}

}  // namespace

TEST_CASE("three members spread six partitions, two each, never one partition twice", "[group]") {
  broker_process b;
  setup(b, 6);
  member a(b, "workers");
  CHECK(a.owned().size() == 6);
  member m2(b, "workers");
  // m2 gets nothing until a has given partitions back.
  a.poll(std::chrono::milliseconds(200), /*answer_revokes=*/false);
  CHECK(a.owned().size() == 3);
  m2.poll(std::chrono::milliseconds(200));
  CHECK(m2.owned().empty());  // revoked from a, not yet confirmed: owned by nobody
  a.answer();
  m2.poll(std::chrono::milliseconds(300));
  CHECK(m2.owned().size() == 3);
  member m3(b, "workers");
  for (int i = 0; i < 5; ++i) {
    a.poll(std::chrono::milliseconds(50));
    m2.poll(std::chrono::milliseconds(50));
    m3.poll(std::chrono::milliseconds(50));
  }
  CHECK(a.owned().size() == 2);
  CHECK(m2.owned().size() == 2);
  CHECK(m3.owned().size() == 2);
  expect_spread({&a, &m2, &m3}, 6);
}

TEST_CASE("a member that vanishes loses its partitions to the others", "[group]") {
  broker_process b;
  setup(b, 4);
  member a(b, "workers");
  auto gone = std::make_unique<member>(b, "workers");
  for (int i = 0; i < 5; ++i) {
    a.poll(std::chrono::milliseconds(50));
    gone->poll(std::chrono::milliseconds(50));
  }
  REQUIRE(a.owned().size() == 2);
  gone.reset();  // the connection closes, as when its process is killed
  a.poll(std::chrono::milliseconds(500));
  CHECK(a.owned().size() == 4);
}

TEST_CASE("a member whose connection goes silent is removed after its session timeout", "[group]") {
  broker_process b;
  setup(b, 2);
  member a(b, "workers", 30000);
  member silent(b, "workers", 300);
  for (int i = 0; i < 4; ++i) {
    a.poll(std::chrono::milliseconds(30));
    silent.poll(std::chrono::milliseconds(30));
  }
  REQUIRE(silent.owned().size() == 1);
  // `silent` sends nothing from now on; `a` keeps its session alive with pings.
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(5);
  while (a.owned().size() < 2 && std::chrono::steady_clock::now() < deadline) {
    v1::Frame ping;
    ping.mutable_ping();
    a.conn().send_frame(ping);
    a.poll(std::chrono::milliseconds(50));
  }
  CHECK(a.owned().size() == 2);
}

TEST_CASE("commits are fenced to owners and survive a restart", "[group]") {
  broker_process b;
  setup(b, 2);
  {
    raw_client c(b.host(), b.port());
    c.handshake();
    for (int i = 0; i < 10; ++i)
      REQUIRE(c.request(publish_frame("g.topic", {{"", "r" + std::to_string(i)}}, i % 2))
                  .has_publish_ok());
  }
  {
    member a(b, "workers");
    REQUIRE(a.owned().size() == 2);
    CHECK(a.commit(0, 3).has_commit_offsets_ok());
    CHECK(a.commit(1, 5).has_commit_offsets_ok());
    auto past_end = a.commit(0, 99);
    CHECK(past_end.error().code() == v1::OFFSET_OUT_OF_RANGE);
    member m2(b, "workers");
    a.poll(std::chrono::milliseconds(200));
    m2.poll(std::chrono::milliseconds(200));
    uint32_t given = *m2.owned().begin();
    auto fenced = a.commit(given, 4);
    CHECK(fenced.error().code() == v1::REBALANCE_IN_PROGRESS);
    v1::Frame d;
    d.mutable_describe_group()->set_group("workers");
    auto info = a.conn().request(d).group_info();
    CHECK(info.members_size() == 2);
    CHECK(info.partitions(0).committed() == 3);
    CHECK(info.partitions(0).lag() == 2);  // partition 0 holds offsets 0..4
  }
  REQUIRE(b.stop() == 0);
  b.restart();
  // A new member resumes where the group committed.
  member a(b, "workers");
  REQUIRE(a.owned().size() == 2);
  auto recs = read_records(a.conn(), 2);  // offsets 3 and 4 of partition 0
  std::map<uint32_t, uint64_t> first;
  for (auto& r : recs)
    first.emplace(r.partition, r.offset);
  CHECK(first[0] == 3);
  v1::Frame fo;
  fo.mutable_fetch_offsets()->set_group("workers");
  auto offs = a.conn().request(fo).offset_list();
  CHECK(offs.offsets_size() == 2);
}
