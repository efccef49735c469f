// The scheduler over the real memory topics and an in-memory schedule_store, on a manual
// clock: storage calls, loop events and timers are queues the test runs, so due times are
// reached by advancing the clock, never by sleeping. Never early, in due order, a restart
// that finds what came due meanwhile, and a topic deleted before its message was due.
#include "broker/schedule/scheduler.h"

#include <deque>
#include <map>

#include <catch2/catch.hpp>

#include "broker/catalog/testing.h"
#include "broker/groups/group_coordinator.h"
#include "broker/logs/log_registry.h"
#include "broker/logs/log_testing.h"
#include "broker/queues/queue_registry.h"
#include "broker/services/consume_service.h"
#include "broker/services/consumer_table.h"
#include "broker/services/publish_service.h"
#include "broker/services/topic_service.h"
#include "broker/topics/testing.h"
#include "broker/topics/topic_directory.h"
#include "storage/engine.h"

using namespace ferry::broker;
namespace v1 = ferry::v1;

namespace {

struct fixture {
  testing::manual_clock clk;
  loop_clock now{clk};
  testing::held_catalog cat{/*instant=*/true};
  testing::testing_port port;
  queue_registry queues{now, {}};
  log_registry logs{now, {}, cat, &port};
  group_coordinator groups{now, logs};
  topic_directory directory;
  topic_service topics{directory, queues, groups, cat};
  publish_service publishing{directory};
  consume_service consuming{directory, queues, logs, groups, topics};
  testing::recording_sink sink;
  consumer_table client{consuming.client_context(), sink, nullptr, nullptr};
  std::unique_ptr<ferry::storage::engine> store = ferry::storage::make_memory_engine();
  std::deque<scheduler::task> storage_work, loop_work;
  std::multimap<int64_t, scheduler::task> timers;  // by wall time
  std::unique_ptr<scheduler> sched;

  fixture() {
    directory.add_family(queues);
    directory.add_family(logs);
    start();
  }

  // A scheduler over the same store (a restart when there was one).
  void start() {
    sched = std::make_unique<scheduler>(scheduler::environment{
        store->schedule(), publishing, directory, now,
        [this](scheduler::task t) { storage_work.push_back(std::move(t)); },
        [this](scheduler::task t) { loop_work.push_back(std::move(t)); },
        [this](int64_t ms, scheduler::task t) { timers.emplace(clk.wall_ms() + ms, std::move(t)); },
        1 << 20});
    publishing.set_scheduler(sched.get());
    REQUIRE_FALSE(sched->recover());
  }

  // Runs what is queued, and the timers due by now, until nothing is left to run.
  void settle() {
    for (bool ran = true; ran;) {
      ran = false;
      for (; !storage_work.empty() || !loop_work.empty(); ran = true) {
        auto& q = storage_work.empty() ? loop_work : storage_work;
        auto t = std::move(q.front());
        q.pop_front();
        t();
      }
      while (!timers.empty() && timers.begin()->first <= clk.wall_ms()) {
        auto t = std::move(timers.begin()->second);
        timers.erase(timers.begin());
        t();
        ran = true;
      }
    }
  }
  void advance(int64_t ms) {
    clk.advance(ms);
    now.stamp();
    settle();
  }

  void memory_topic_with_subscription(const std::string& name) {
    v1::CreateTopic t;
    t.set_name(name);
    topics.create_topic(t, 0, [](const ferry::error& e, const v1::TopicInfo&) { REQUIRE(!e); });
    v1::CreateSubscription s;
    s.set_name(name + ".sub");
    s.set_pattern(name);
    topics.create_subscription(
        s, [](const ferry::error& e, const v1::SubscriptionInfo&) { REQUIRE(!e); });
    v1::Subscribe sub;
    sub.set_subscription(name + ".sub");
    sub.set_prefetch(100);
    sub.set_auto_ack(true);
    consuming.subscribe(client, sub,
                        [](const ferry::error& e, const v1::SubscribeOk&) { REQUIRE(!e); });
  }

  // Publishes one message delayed by `delay_ms`; the answer.
  v1::PublishOk publish(const std::string& topic, const std::string& payload, uint64_t delay_ms) {
    ferry::codec::message_fields f;
    f.payload = payload;
    f.delay_ms = delay_ms;
    std::vector<uint8_t> bytes;
    ferry::wire::writer w(bytes);
    ferry::codec::append_message(w, f, {});
    std::string body = topic + std::string(bytes.begin(), bytes.end());
    ferry::codec::publish_view head;
    head.topic = std::string_view(body).substr(0, topic.size());
    std::vector<std::string_view> messages{std::string_view(body).substr(topic.size())};
    publish_request r{body, head, messages};
    v1::PublishOk out;
    bool answered = false;
    publishing.publish(r, [&](const ferry::error& e, v1::PublishOk&& ok) {
      REQUIRE(!e);
      out = std::move(ok);
      answered = true;
    });
    settle();
    REQUIRE(answered);
    return out;
  }

  std::vector<std::string> delivered() const {
    std::vector<std::string> out;
    for (const auto& r : sink.records)
      out.push_back(r.payload);
    return out;
  }
};

}  // namespace

TEST_CASE("scheduler: released at the due time to the millisecond, never before, in due order",
          "[schedule]") {
  fixture f;
  f.memory_topic_with_subscription("orders");
  CHECK(f.publish("orders", "c", 3000).scheduled_ids_size() == 1);
  f.publish("orders", "a", 1000);
  f.publish("orders", "b", 2000);
  CHECK(f.sched->waiting() == 3);
  CHECK(f.sched->waiting("orders") == 3);
  f.advance(999);
  CHECK(f.delivered().empty());  // 1 ms before the first is due
  f.advance(1);
  CHECK(f.delivered() == std::vector<std::string>{"a"});
  f.advance(999);
  CHECK(f.delivered() == std::vector<std::string>{"a"});
  f.advance(1);
  CHECK(f.delivered() == std::vector<std::string>{"a", "b"});
  f.advance(999);
  CHECK(f.delivered() == std::vector<std::string>{"a", "b"});
  f.advance(1);
  CHECK(f.delivered() == std::vector<std::string>{"a", "b", "c"});
  CHECK(f.sched->waiting() == 0);
  CHECK(f.sched->worst_lateness_ms() == 0);
}

TEST_CASE("scheduler: a restart finds what waits, and releases what came due meanwhile",
          "[schedule]") {
  fixture f;
  f.memory_topic_with_subscription("orders");
  f.publish("orders", "due while down", 1000);
  f.publish("orders", "due later", 60'000);
  f.sched.reset();  // ferryd stops; its store stays
  f.timers.clear();
  f.clk.advance(5000);
  f.start();
  CHECK(f.sched->waiting() == 2);
  f.settle();
  CHECK(f.delivered() == std::vector<std::string>{"due while down"});
  f.advance(54'999);
  CHECK(f.delivered().size() == 1);
  f.advance(1);
  CHECK(f.delivered() == std::vector<std::string>{"due while down", "due later"});
}

TEST_CASE("scheduler: a message whose topic was deleted before it was due is dropped",
          "[schedule]") {
  fixture f;
  f.memory_topic_with_subscription("orders");
  f.publish("orders", "orphan", 1000);
  v1::DeleteTopic d;
  d.set_name("orders");
  f.topics.delete_topic(d, [](const ferry::error& e, const v1::DeleteTopicOk&) { REQUIRE(!e); });
  f.advance(1000);
  CHECK(f.delivered().empty());
  CHECK(f.sched->waiting() == 0);
}

namespace {

v1::ScheduledList list(fixture& f, const std::string& topic, const std::string& after = {},
                       uint32_t limit = 0) {
  v1::ListScheduled req;
  req.set_topic(topic);
  req.set_after(after);
  req.set_limit(limit);
  v1::ScheduledList out;
  bool answered = false;
  f.sched->list(req, [&](const ferry::error& e, const v1::ScheduledList& l) {
    REQUIRE(!e);
    out = l;
    answered = true;
  });
  f.settle();
  REQUIRE(answered);
  return out;
}

ferry::error cancel(fixture& f, const std::string& topic, const std::string& id) {
  v1::CancelScheduled req;
  req.set_topic(topic);
  req.set_id(id);
  ferry::error out{make_error_code(ferry::errc::internal), "not answered"};
  f.sched->cancel(req, [&](const ferry::error& e, const v1::CancelScheduledOk&) { out = e; });
  f.settle();
  return out;
}

}  // namespace

TEST_CASE("scheduler: a topic's waiting messages are listed in due order, page by page",
          "[schedule]") {
  fixture f;
  f.memory_topic_with_subscription("orders");
  f.memory_topic_with_subscription("audit");
  const auto c = f.publish("orders", "c", 3000).scheduled_ids(0);
  const auto a = f.publish("orders", "a", 1000).scheduled_ids(0);
  f.publish("audit", "x", 500);
  const auto b = f.publish("orders", "b", 2000).scheduled_ids(0);
  auto first = list(f, "orders", {}, 2);
  CHECK(first.waiting() == 3);
  CHECK(first.next_due_ms() == f.clk.wall_ms() + 1000);
  REQUIRE(first.messages_size() == 2);
  CHECK(first.messages(0).id() == a);
  CHECK(first.messages(0).message().payload() == "a");
  CHECK(first.messages(0).message().not_before_ms() == first.messages(0).due_ms());
  CHECK(first.messages(1).id() == b);
  CHECK(first.next_after() == b);
  auto second = list(f, "orders", first.next_after(), 2);
  REQUIRE(second.messages_size() == 1);
  CHECK(second.messages(0).id() == c);
  CHECK(second.next_after().empty());
  CHECK(second.next_due_ms() == first.next_due_ms());  // the topic's, not the page's
  CHECK(list(f, "audit").messages_size() == 1);
  CHECK(list(f, "nothing").next_due_ms() == 0);
  f.advance(1000);
  CHECK(list(f, "orders").messages(0).id() == b);  // released ones are gone
}

TEST_CASE("scheduler: a cancelled message is never released, and other ids are refused",
          "[schedule]") {
  fixture f;
  f.memory_topic_with_subscription("orders");
  const auto gone = f.publish("orders", "cancelled", 1000).scheduled_ids(0);
  const auto kept = f.publish("orders", "kept", 1000).scheduled_ids(0);
  CHECK(cancel(f, "audit", gone).code == ferry::errc::scheduled_not_found);  // another topic
  CHECK(cancel(f, "orders", "not-an-id").code == ferry::errc::invalid_argument);
  CHECK(cancel(f, "orders", "1-").code == ferry::errc::invalid_argument);
  REQUIRE_FALSE(cancel(f, "orders", gone));
  CHECK(f.sched->waiting("orders") == 1);
  CHECK(cancel(f, "orders", gone).code == ferry::errc::scheduled_not_found);  // twice
  f.advance(1000);
  CHECK(f.delivered() == std::vector<std::string>{"kept"});
  CHECK(cancel(f, "orders", kept).code == ferry::errc::scheduled_not_found);  // released
  CHECK(f.sched->waiting() == 0);
}
