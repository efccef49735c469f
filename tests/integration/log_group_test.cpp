// Consumer groups through libferry against a real ferryd: assignment and rebalance,
// commits (fenced, unfenced, on revoke and close), resuming from committed offsets,
// keepalives, and the admin requests.
#include <mutex>
#include <set>
#include <thread>

#include <catch2/catch.hpp>

#include "tests/integration/log_client_helpers.h"
#include "tests/support/test_helpers.h"

using namespace ferry::testing;
namespace fc = ferry::client;
namespace v1 = ferry::v1;
using ferry::errc;

namespace {

// Assignment callbacks, recorded from the client's I/O thread.
struct assignment_log {
  std::mutex m;
  std::set<uint32_t> owned;
  int assigned_calls = 0, revoked_calls = 0;

  void attach(fc::consume_options& o) {
    o.on_assigned = [this](const std::vector<uint32_t>& ps) {
      std::lock_guard lock(m);
      ++assigned_calls;
      owned.insert(ps.begin(), ps.end());
    };
    o.on_revoked = [this](const std::vector<uint32_t>& ps) {
      std::lock_guard lock(m);
      ++revoked_calls;
      for (uint32_t p : ps)
        owned.erase(p);
    };
  }
  std::set<uint32_t> now() {
    std::lock_guard lock(m);
    return owned;
  }
};

fc::consume_options member_of(const std::string& group, const std::string& topic) {
  fc::consume_options o;
  o.topic = topic;
  o.group = group;
  o.default_start = fc::position::earliest();
  return o;
}

// Waits until `pred` holds, for at most `timeout`.

void publish_keyed(fc::blocking_client& c, const std::string& topic, int from, int to) {
  std::vector<fc::message> msgs;
  for (int i = from; i < to; ++i) {
    std::string key = "k";
    key.append(std::to_string(i % 8));
    msgs.push_back(keyed(key, std::to_string(i)));
  }
  auto r = c.publish_batch(topic, msgs);
  if (!r || !r->failures.empty()) FAIL("publish_batch failed");
}

// Takes what `m` delivers until it is quiet for 500 ms, checking each record is of one of
// its partitions; the payloads go into `seen`.
void drain_member(fc::blocking_log_consumer& m, const std::set<uint32_t>& mine,
                  std::set<std::string>& seen) {
  while (auto d = m.next(500ms)) {
    CHECK(mine.count(d->partition()) == 1);
    seen.insert(std::string(d->payload()));
  }
}

}  // namespace

TEST_CASE("group members share the partitions and a rebalance loses no record",
          "[log-client][group]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 4);
  publish_keyed(*c, "l", 0, 40);

  assignment_log la, lb;
  auto oa = member_of("g", "l");
  la.attach(oa);
  auto a = consume(*c, oa);
  REQUIRE(eventually([&] { return la.now().size() == 4; }));
  std::set<std::string> seen;
  for (const auto& r : take(a, 10))
    seen.insert(r.payload);

  auto c2 = connect(b);
  auto ob = member_of("g", "l");
  lb.attach(ob);
  auto bm = consume(*c2, ob);
  // The broker moves two partitions: revoked from a (committed, RevokeDone), then given to b.
  REQUIRE(eventually([&] { return la.now().size() == 2 && lb.now().size() == 2; }));
  auto oa_now = la.now(), ob_now = lb.now();
  for (uint32_t p : ob_now)
    CHECK(oa_now.count(p) == 0);
  CHECK(la.revoked_calls >= 1);
  CHECK(a.assignment() == std::vector<uint32_t>(oa_now.begin(), oa_now.end()));
  CHECK_FALSE(bm.member_id().empty());
  CHECK(bm.member_id() != a.member_id());

  // Together they read everything (at least once), each only its own partitions.
  drain_member(a, oa_now, seen);
  drain_member(bm, ob_now, seen);
  CHECK(seen.size() == 40);
  publish_keyed(*c, "l", 40, 48);
  drain_member(a, oa_now, seen);
  drain_member(bm, ob_now, seen);
  CHECK(seen.size() == 48);

  auto info = c->describe_group("g");
  REQUIRE(info);
  CHECK(info->topic() == "l");
  CHECK(info->members_size() == 2);
  for (const auto& p : info->partitions())
    CHECK_FALSE(p.owner().empty());

  // b leaves: a gets everything back, from what b committed on close.
  CHECK_FALSE(bm.close());
  REQUIRE(eventually([&] { return la.now().size() == 4; }));
  publish_keyed(*c, "l", 48, 56);
  std::set<std::string> after;
  while (auto d = a.next(500ms))
    after.insert(std::string(d->payload()));
  for (int i = 48; i < 56; ++i)
    CHECK(after.count(std::to_string(i)) == 1);
  for (int i = 0; i < 40; ++i)
    CHECK(after.count(std::to_string(i)) == 0);  // b had committed what it read
}

TEST_CASE("a group resumes from its committed offsets", "[log-client][group]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 1);
  publish_keyed(*c, "l", 0, 10);
  {
    auto m = consume(*c, member_of("g", "l"));
    auto got = take(m, 4);
    CHECK(got[0].offset == 0);
    CHECK_FALSE(m.commit());  // everything taken counts as processed: next offset 4
    auto offsets = c->fetch_offsets("g", "l");
    REQUIRE(offsets);
    REQUIRE(offsets->offsets_size() == 1);
    CHECK(offsets->offsets(0).offset() == 4);
    take(m, 2);              // processed, not committed...
    CHECK_FALSE(m.close());  // ...until close commits them (auto_commit)
  }
  auto offsets = c->fetch_offsets("g", "l");
  REQUIRE(offsets);
  REQUIRE(offsets->offsets_size() == 1);
  CHECK(offsets->offsets(0).offset() == 6);
  auto m = consume(*c, member_of("g", "l"));
  auto next = take(m, 1)[0];
  CHECK(next.offset == offsets->offsets(0).offset());
  CHECK_FALSE(m.close());
  auto info = c->describe_group("g");
  REQUIRE(info);
  REQUIRE(info->partitions_size() == 1);
  CHECK(info->partitions(0).log_end() == 10);
  CHECK(info->partitions(0).lag() == 10 - info->partitions(0).committed());
}

TEST_CASE("auto-commit stores a member's progress every interval", "[log-client][group]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 1);
  publish_keyed(*c, "l", 0, 10);
  auto o = member_of("g", "l");
  o.auto_commit_interval = 100ms;
  auto m = consume(*c, o);
  take(m, 3);
  CHECK(m.next(10ms));  // taking the fourth marks the third as processed
  auto committed = [&] {
    auto r = c->fetch_offsets("g", "l");
    return r && r->offsets_size() == 1 ? r->offsets(0).offset() : uint64_t{0};
  };
  CHECK(eventually([&] { return committed() == 3; }, 2s));
  CHECK(m.next(10ms));
  CHECK(eventually([&] { return committed() == 4; }, 2s));
}

TEST_CASE("without auto-commit only explicit commits move the group", "[log-client][group]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 1);
  publish_keyed(*c, "l", 0, 10);
  auto o = member_of("g", "l");
  o.auto_commit = false;
  {
    auto m = consume(*c, o);
    take(m, 5);
    CHECK_FALSE(m.commit({{0, 2}}));
    take(m, 3);
    CHECK_FALSE(m.close());
  }
  auto offsets = c->fetch_offsets("g", "l");
  REQUIRE(offsets);
  REQUIRE(offsets->offsets_size() == 1);
  CHECK(offsets->offsets(0).offset() == 2);
}

TEST_CASE("a member rejoins after a broker restart and resumes from the committed offsets",
          "[log-client][group][restart]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 1);
  publish_keyed(*c, "l", 0, 10);
  assignment_log log;
  auto o = member_of("g", "l");
  log.attach(o);
  auto m = consume(*c, o);
  take(m, 4);
  REQUIRE_FALSE(m.commit());  // offset 4
  take(m, 2);                 // 4 and 5: not committed
  REQUIRE(b.stop() == 0);
  b.restart();
  // At least once: what was not committed comes again, after the rejoin.
  auto again = take(m, 6, 10s);
  CHECK(again[0].offset == 4);
  CHECK(again[5].offset == 9);
  CHECK(log.revoked_calls >= 1);   // the lost connection took the partition away
  CHECK(log.assigned_calls >= 2);  // and the rejoin gave it back
  CHECK(m.assignment() == std::vector<uint32_t>{0});
}

TEST_CASE("an idle member stays in its group: the client pings within the session timeout",
          "[log-client][group][keepalive]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 2);
  auto o = member_of("g", "l");
  o.session_timeout = 600ms;
  auto m = consume(*c, o);
  REQUIRE(eventually([&] { return m.assignment().size() == 2; }));
  std::this_thread::sleep_for(2s);  // nothing to read, nothing to send but pings
  auto info = c->describe_group("g");
  REQUIRE(info);
  CHECK(info->members_size() == 1);
  CHECK(m.assignment().size() == 2);
  publish_keyed(*c, "l", 0, 4);
  CHECK(take(m, 4).size() == 4);
}

TEST_CASE("unfenced commits: manual readers and the admin requests store group offsets",
          "[log-client][group]") {
  broker_process b;
  auto c = connect(b);
  create_log_topic(*c, "l", 2);
  publish_keyed(*c, "l", 0, 16);
  REQUIRE(c->commit_offsets("admin", "l", {{0, 1}, {1, 2}}));
  auto offsets = c->fetch_offsets("admin", "l");
  REQUIRE(offsets);
  CHECK(offsets->offsets_size() == 2);
  fc::consume_options o;
  o.topic = "l";
  o.group = "manual";
  o.partitions.emplace_back(1, fc::position::earliest());
  auto r = consume(*c, o);
  auto got = take(r, 3);
  CHECK(got[2].partition == 1);
  CHECK_FALSE(r.close());  // commits what was taken (all three), unfenced
  offsets = c->fetch_offsets("manual", "l");
  REQUIRE(offsets);
  REQUIRE(offsets->offsets_size() == 1);
  CHECK(offsets->offsets(0).partition() == 1);
  CHECK(offsets->offsets(0).offset() == 3);
  auto groups = c->list_groups();
  REQUIRE(groups);
  std::set<std::string> names;
  for (const auto& g : groups->groups())
    names.insert(g.group());
  CHECK(names.count("admin") == 1);
  CHECK(names.count("manual") == 1);
  CHECK(c->describe_group("nope").err().code == errc::group_not_found);
  // A reader without a group has nothing to commit to.
  fc::consume_options plain;
  plain.topic = "l";
  auto p = consume(*c, plain);
  take(p, 1);
  CHECK(p.commit().code == errc::invalid_argument);
}
