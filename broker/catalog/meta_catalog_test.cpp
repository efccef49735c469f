#include "broker/catalog/meta_catalog.h"

#include <deque>
#include <string>
#include <utility>
#include <vector>

#include <catch2/catch.hpp>

#include "storage/engine.h"
#include "storage/meta_keys.h"

using namespace ferry::broker;
using ferry::errc;
namespace v1 = ferry::v1;

namespace {

// A meta store that fails its next batch when told to (a full disk).
class failing_meta final : public ferry::storage::meta_store {
 public:
  explicit failing_meta(ferry::storage::meta_store& real) : real_(real) {}
  bool fail_next = false;
  ferry::error apply(std::span<const ferry::storage::meta_change> changes) override {
    if (std::exchange(fail_next, false)) return {make_error_code(errc::disk_full), "full"};
    return real_.apply(changes);
  }
  ferry::error put(std::string_view k, std::string_view v) override { return real_.put(k, v); }
  ferry::error erase(std::string_view k) override { return real_.erase(k); }
  ferry::error scan(std::string_view prefix,
                    const std::function<void(std::string_view, std::string_view)>& fn) override {
    return real_.scan(prefix, fn);
  }

 private:
  ferry::storage::meta_store& real_;
};

// The storage thread runs tasks at once; loop events wait until the test runs them.
struct fixture {
  std::unique_ptr<ferry::storage::engine> engine = ferry::storage::make_memory_engine();
  std::deque<std::function<void()>> loop;
  meta_catalog cat{engine->meta(), [](meta_catalog::task t) { t(); },
                   [this](meta_catalog::task t) { loop.push_back(std::move(t)); }};

  void run_loop() {
    while (!loop.empty()) {
      auto t = std::move(loop.front());
      loop.pop_front();
      t();
    }
  }
  ferry::error apply(catalog_batch b) {
    ferry::error out{make_error_code(errc::internal), "not answered"};
    cat.apply(std::move(b), [&](const ferry::error& e) { out = e; });
    run_loop();
    return out;
  }
};

v1::TopicInfo topic(const std::string& name, v1::TopicKind kind = v1::MEMORY, uint32_t id = 0) {
  v1::TopicInfo t;
  t.set_name(name);
  t.set_kind(kind);
  t.set_topic_id(id);
  t.set_messages_published(99);  // statistics are not stored
  return t;
}

}  // namespace

TEST_CASE("the catalog stores definitions and loads them back", "[catalog]") {
  fixture f;
  catalog_snapshot empty;
  REQUIRE_FALSE(f.cat.load(empty));
  catalog_batch b;
  b.put_topic(topic("orders"));
  b.put_topic(topic("events", v1::LOG, f.cat.allocate_topic_id(b)));
  v1::SubscriptionInfo s;
  s.set_name("billing");
  s.set_pattern("orders");
  s.mutable_options()->set_max_messages(10);
  b.put_subscription(s);
  b.put_offset("g", 2, 41);
  b.put_group("g", "events");
  REQUIRE_FALSE(f.apply(std::move(b)));

  meta_catalog reopened{f.engine->meta(), [](meta_catalog::task t) { t(); },
                        [](meta_catalog::task t) { t(); }};
  catalog_snapshot snap;
  REQUIRE_FALSE(reopened.load(snap));
  REQUIRE(snap.topics.size() == 2);
  CHECK(snap.topics[0].name() == "events");
  CHECK(snap.topics[0].topic_id() == 1);
  CHECK(snap.topics[1].messages_published() == 0);
  REQUIRE(snap.subscriptions.size() == 1);
  CHECK(snap.subscriptions[0].options().max_messages() == 10);
  REQUIRE(snap.groups.size() == 1);
  CHECK(snap.groups[0].topic == "events");
  CHECK(snap.groups[0].offsets.at(2) == 41);
  CHECK(snap.next_topic_id == 2);
}

TEST_CASE("topic ids are never handed out twice, also after their topic is gone", "[catalog]") {
  fixture f;
  catalog_snapshot snap;
  REQUIRE_FALSE(f.cat.load(snap));
  catalog_batch b;
  uint32_t first = f.cat.allocate_topic_id(b);
  b.put_topic(topic("a", v1::LOG, first));
  REQUIRE_FALSE(f.apply(std::move(b)));
  catalog_batch erase;
  erase.erase_topic("a");
  REQUIRE_FALSE(f.apply(std::move(erase)));
  meta_catalog again{f.engine->meta(), [](meta_catalog::task t) { t(); },
                     [](meta_catalog::task t) { t(); }};
  REQUIRE_FALSE(again.load(snap));
  catalog_batch next;
  CHECK(again.allocate_topic_id(next) == first + 1);
}

TEST_CASE("a batch whose precondition fails applies nothing", "[catalog][cas]") {
  fixture f;
  catalog_snapshot snap;
  REQUIRE_FALSE(f.cat.load(snap));
  catalog_batch create;
  create.expect_no_topic("t");
  create.put_topic(topic("t"));
  REQUIRE_FALSE(f.apply(std::move(create)));
  catalog_batch again;  // a second creator of the same name (another node, later)
  again.expect_no_topic("t");
  again.put_topic(topic("t"));
  again.put_topic(topic("u"));
  auto err = f.apply(std::move(again));
  CHECK(err.code == errc::topic_exists);
  int found = 0;
  REQUIRE_FALSE(f.engine->meta().scan(ferry::storage::meta_keys::topic("u"),
                                      [&](std::string_view, std::string_view) { ++found; }));
  CHECK(found == 0);
  catalog_batch erase;
  erase.erase_topic("t");
  REQUIRE_FALSE(f.apply(std::move(erase)));
  catalog_batch recreate;
  recreate.expect_no_topic("t");
  recreate.put_topic(topic("t"));
  CHECK_FALSE(f.apply(std::move(recreate)));
}

TEST_CASE("a batch's topic changes read back as definitions and erasures", "[catalog]") {
  catalog_batch b;
  b.put_topic(topic("a", v1::LOG, 7));
  b.put_subscription(v1::SubscriptionInfo());
  b.erase_topic("b");
  std::vector<std::string> seen;
  for_each_topic_change(b, [&](std::string_view name, const v1::TopicInfo* def) {
    seen.push_back(std::string(name) +
                   (def ? ":" + std::to_string(def->kind()) + "/" + std::to_string(def->topic_id())
                        : ":gone"));
  });
  CHECK(seen == std::vector<std::string>{"a:" + std::to_string(v1::LOG) + "/7", "b:gone"});
  CHECK_FALSE(b.from_cluster());
  b.mark_from_cluster();
  CHECK(b.from_cluster());
}

TEST_CASE("an unreadable record fails the load and names its key", "[catalog]") {
  fixture f;
  REQUIRE_FALSE(f.engine->meta().put("topic/x", "\xff\xff not a TopicInfo"));
  catalog_snapshot snap;
  auto err = f.cat.load(snap);
  CHECK(err.code == errc::storage_error);
  CHECK(err.message.find("topic/x") != std::string::npos);
}

TEST_CASE("after a delete that failed to write, the name can be created again", "[catalog][cas]") {
  auto engine = ferry::storage::make_memory_engine();
  failing_meta meta(engine->meta());
  meta_catalog cat(
      meta, [](meta_catalog::task t) { t(); }, [](meta_catalog::task t) { t(); });
  catalog_snapshot snap;
  REQUIRE_FALSE(cat.load(snap));
  auto apply = [&](catalog_batch b) {
    ferry::error out;
    cat.apply(std::move(b), [&](const ferry::error& e) { out = e; });
    return out;
  };
  catalog_batch create;
  create.expect_no_topic("t");
  create.put_topic(topic("t"));
  REQUIRE_FALSE(apply(std::move(create)));
  meta.fail_next = true;  // the broker forgot the topic; the disk still has it
  catalog_batch erase;
  erase.erase_topic("t");
  REQUIRE(apply(std::move(erase)).code == errc::disk_full);
  catalog_batch again;
  again.expect_no_topic("t");
  again.put_topic(topic("t"));
  CHECK_FALSE(apply(std::move(again)));  // overwrites the stale record, as before
}
