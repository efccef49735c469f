// The service layer over the real subsystems (queues, logs, groups) and a catalog, as
// every front end uses it: names across kinds, durability before the answer, undo.
#include "broker/services/topic_service.h"

#include <catch2/catch.hpp>

#include "broker/catalog/testing.h"
#include "broker/groups/group_coordinator.h"
#include "broker/logs/log_registry.h"
#include "broker/logs/log_testing.h"
#include "broker/queues/queue_registry.h"
#include "broker/services/consume_service.h"
#include "broker/services/consumer_table.h"
#include "broker/services/group_service.h"
#include "broker/services/publish_service.h"
#include "broker/topics/testing.h"
#include "broker/topics/topic_directory.h"

using namespace ferry::broker;
using ferry::errc;
namespace v1 = ferry::v1;

namespace {

struct fixture {
  testing::manual_clock clk;
  loop_clock now{clk};
  testing::held_catalog cat;
  testing::testing_port port;
  queue_registry queues{now, {}};
  log_registry logs{now, {}, cat, &port};
  group_coordinator groups{now, logs};
  topic_directory directory;
  topic_service topics{directory, queues, groups, cat};
  publish_service publishing{directory};

  fixture() {
    directory.add_family(queues);
    directory.add_family(logs);
  }

  // Creates and makes durable; the outcome.
  ferry::error create(const std::string& name, v1::TopicKind kind, bool if_not_exists = false) {
    v1::CreateTopic req;
    req.set_name(name);
    req.set_kind(kind);
    req.set_if_not_exists(if_not_exists);
    ferry::error out{make_error_code(errc::internal), "not answered"};
    topics.create_topic(req, 0, [&](const ferry::error& e, const v1::TopicInfo&) { out = e; });
    cat.complete_all();
    return out;
  }
};

}  // namespace

TEST_CASE("a name is one topic across kinds, found and listed without asking the kind",
          "[services]") {
  fixture f;
  REQUIRE_FALSE(f.create("b.memory", v1::MEMORY));
  REQUIRE_FALSE(f.create("a.log", v1::LOG));
  CHECK(f.create("a.log", v1::MEMORY).code == errc::topic_exists);
  CHECK(f.create("b.memory", v1::LOG).code == errc::topic_exists);
  CHECK(f.create("b.memory", v1::LOG, true).code == errc::topic_exists);  // also with if_not_exists
  CHECK(f.create("bad..name", v1::MEMORY).code == errc::invalid_name);
  CHECK(f.create("k", static_cast<v1::TopicKind>(7)).code == errc::invalid_argument);
  v1::TopicList list;
  f.topics.list_topics("", list);
  REQUIRE(list.topics_size() == 2);
  CHECK(list.topics(0).name() == "a.log");
  CHECK(list.topics(0).kind() == v1::LOG);
  CHECK(list.topics(1).kind() == v1::MEMORY);
  v1::TopicInfo info;
  CHECK_FALSE(f.topics.describe_topic("a.log", info));
  CHECK(info.topic_id() == 1);
  CHECK(f.topics.describe_topic("nope", info).code == errc::topic_not_found);
}

TEST_CASE("lists are walked a page at a time, in name order, across kinds", "[services]") {
  fixture f;
  for (const char* n : {"e", "a", "d", "b", "c"})
    REQUIRE_FALSE(f.create(n, n[0] % 2 == 0 ? v1::LOG : v1::MEMORY));
  std::string walked, after;
  for (int pages = 0; pages < 10; ++pages) {
    v1::TopicList page;
    f.topics.list_topics("", page, {after, 2});
    CHECK(page.topics_size() <= 2);
    for (const auto& t : page.topics())
      walked += t.name();
    if (page.topics_size() < 2) break;
    after = page.topics(page.topics_size() - 1).name();
  }
  CHECK(walked == "abcde");
  v1::TopicList none;
  f.topics.list_topics("", none, {"e", 2});
  CHECK(none.topics_size() == 0);
}

TEST_CASE("a change is answered once the catalog made it durable, and undone if it failed",
          "[services]") {
  fixture f;
  v1::CreateTopic req;
  req.set_name("t");
  bool answered = false;
  ferry::error result;
  f.topics.create_topic(req, 0, [&](const ferry::error& e, const v1::TopicInfo&) {
    answered = true;
    result = e;
  });
  CHECK_FALSE(answered);                    // not before the catalog wrote it...
  CHECK(f.directory.find("t") != nullptr);  // ...though it takes effect at once
  REQUIRE(f.cat.applied.size() == 1);
  CHECK(f.cat.applied[0].preconditions().size() == 1);  // created only if still absent
  f.cat.complete_all({make_error_code(errc::disk_full), "no space"});
  CHECK(answered);
  CHECK(result.code == errc::disk_full);
  CHECK(f.directory.find("t") == nullptr);  // undone: memory does not claim what disk refused
}

TEST_CASE("deleting a log topic takes its consumer groups with it", "[services]") {
  fixture f;
  REQUIRE_FALSE(f.create("events", v1::LOG));
  ferry::error err;
  REQUIRE(f.groups.group_for("billing", "events", err) != nullptr);
  v1::DeleteTopic del;
  del.set_name("events");
  bool deleted = false;
  f.topics.delete_topic(del, [&](const ferry::error& e, const v1::DeleteTopicOk& ok) {
    deleted = !e && ok.deleted();
  });
  f.cat.complete_all();
  CHECK(deleted);
  CHECK(f.groups.find("billing") == nullptr);
  CHECK(f.directory.find("events") == nullptr);
  del.set_if_exists(true);
  f.topics.delete_topic(del, [&](const ferry::error& e, const v1::DeleteTopicOk& ok) {
    deleted = !e && ok.deleted();
  });
  CHECK_FALSE(deleted);
}

TEST_CASE("a subscription on a log topic is the wrong kind, on a memory topic it is stored",
          "[services]") {
  fixture f;
  REQUIRE_FALSE(f.create("events", v1::LOG));
  REQUIRE_FALSE(f.create("orders", v1::MEMORY));
  v1::CreateSubscription s;
  s.set_name("s");
  s.set_pattern("events");
  ferry::error out;
  f.topics.create_subscription(
      s, [&](const ferry::error& e, const v1::SubscriptionInfo&) { out = e; });
  CHECK(out.code == errc::wrong_topic_kind);
  s.set_pattern("orders");
  f.topics.create_subscription(
      s, [&](const ferry::error& e, const v1::SubscriptionInfo&) { out = e; });
  f.cat.complete_all();
  CHECK_FALSE(out);
  v1::SubscriptionInfo info;
  CHECK_FALSE(f.topics.describe_subscription("s", info));
  CHECK(info.pattern() == "orders");
}

TEST_CASE("publishing to a name that is no topic says why", "[services]") {
  fixture f;
  auto frame = testing::publish_frame("no.such", {{"", "x"}});
  std::string_view bytes;
  size_t consumed = 0;
  ferry::codec::frame_view fv;
  REQUIRE(ferry::codec::split_frame(ferry::wire::as_view(frame), 1u << 20, bytes, consumed) ==
          ferry::codec::split_status::complete);
  REQUIRE(ferry::codec::parse_frame(bytes, fv) == errc::ok);
  ferry::codec::publish_view pv;
  std::vector<std::string_view> msgs;
  REQUIRE(ferry::codec::parse_publish(fv.bytes, pv, msgs) == errc::ok);
  publish_request r{fv.bytes, pv, msgs};
  ferry::error out;
  f.publishing.publish(r, [&](const ferry::error& e, v1::PublishOk&&) { out = e; });
  CHECK(out.code == errc::topic_not_found);
  pv.topic = "bad..name";
  f.publishing.publish(r, [&](const ferry::error& e, v1::PublishOk&&) { out = e; });
  CHECK(out.code == errc::invalid_name);
}

TEST_CASE("an unfenced commit is stored through the catalog and counted once durable",
          "[services][groups]") {
  fixture f;
  REQUIRE_FALSE(f.create("events", v1::LOG));
  group_service groups(f.groups, f.cat);
  testing::recording_sink sink;
  int64_t activity = 0;
  bool gate = false;
  consumer_table::context ctx{f.queues, f.groups};
  consumer_table client(ctx, sink, &activity, &gate);
  v1::CommitOffsets req;
  req.set_group("billing");
  req.set_topic("events");
  auto* po = req.add_offsets();
  po->set_partition(0);
  po->set_offset(0);
  bool answered = false;
  groups.commit_offsets(client, req,
                        [&](const ferry::error& e, const v1::CommitOffsetsOk&) { answered = !e; });
  CHECK_FALSE(answered);
  CHECK(f.groups.probe().commits == 0);  // not before it is durable
  f.cat.complete_all();
  CHECK(answered);
  CHECK(f.groups.probe().commits == 1);
  v1::OffsetList out;
  v1::FetchOffsets fetch;
  fetch.set_group("billing");
  groups.fetch_offsets(fetch, out);
  REQUIRE(out.offsets_size() == 1);
  CHECK(out.offsets(0).offset() == 0);
  po->set_offset(5);  // past the log end
  ferry::error err;
  groups.commit_offsets(client, req,
                        [&](const ferry::error& e, const v1::CommitOffsetsOk&) { err = e; });
  CHECK(err.code == errc::offset_out_of_range);
}

TEST_CASE("a log topic whose creation the catalog refused goes with the groups joined meanwhile",
          "[services][groups]") {
  fixture f;
  consume_service consuming(f.directory, f.queues, f.logs, f.groups, f.topics);
  testing::recording_sink sink;
  int64_t activity = 0;
  bool gate = false;
  consumer_table client(consuming.client_context(), sink, &activity, &gate);
  v1::CreateTopic create;
  create.set_name("events");
  create.set_kind(v1::LOG);
  ferry::error created;
  f.topics.create_topic(create, 0,
                        [&](const ferry::error& e, const v1::TopicInfo&) { created = e; });
  // A member joins at once (the topic takes effect before it is durable)...
  v1::ConsumeLog join;
  join.set_topic("events");
  join.set_group("billing");
  bool joined = false;
  consuming.consume_log(client, join, "m",
                        [&](const ferry::error& e, const v1::ConsumeLogOk&) { joined = !e; });
  REQUIRE(joined);
  REQUIRE(f.groups.find("billing") != nullptr);
  // ...then the write fails: the topic is undone, and its group and member with it.
  f.cat.complete_all({make_error_code(errc::disk_full), "no space"});
  CHECK(created.code == errc::disk_full);
  CHECK(f.directory.find("events") == nullptr);
  CHECK(f.groups.find("billing") == nullptr);
  CHECK(sink.cancelled.size() == 1);
  REQUIRE_FALSE(f.create("events", v1::LOG));  // created again, with nothing left behind
  f.now.stamp();
  f.groups.tick();
}

TEST_CASE("a commit names its group in the catalog, also when it commits no offsets",
          "[services][groups]") {
  fixture f;
  REQUIRE_FALSE(f.create("events", v1::LOG));
  group_service groups(f.groups, f.cat);
  testing::recording_sink sink;
  int64_t activity = 0;
  bool gate = false;
  consumer_table::context ctx{f.queues, f.groups};
  consumer_table client(ctx, sink, &activity, &gate);
  v1::CommitOffsets req;
  req.set_group("empty");
  req.set_topic("events");
  groups.commit_offsets(client, req, [](const ferry::error&, const v1::CommitOffsetsOk&) {});
  REQUIRE_FALSE(f.cat.applied.empty());
  const auto& changes = f.cat.applied.back().changes();
  REQUIRE(changes.size() == 1);
  CHECK(changes[0].key == "group/empty");
  CHECK(changes[0].value == std::optional<std::string>("events"));
}
