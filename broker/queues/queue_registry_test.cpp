#include "broker/queues/queue_registry.h"

#include <catch2/catch.hpp>

#include "broker/catalog/meta_catalog.h"
#include "broker/topics/testing.h"
#include "storage/engine.h"

using namespace ferry::broker;
using ferry::errc;
namespace v1 = ferry::v1;
using testing::recording_sink;

namespace {

struct fixture {
  ferry::broker::testing::manual_clock clk;
  loop_clock now{clk};
  queue_registry reg{now, queue_settings{}};
  recording_sink sink;
  std::vector<std::unique_ptr<consumer>> consumers;

  void topic(const std::string& name, uint64_t ttl_ms = 0) {
    v1::CreateTopic req;
    req.set_name(name);
    req.mutable_options()->set_message_ttl_ms(ttl_ms);
    v1::TopicInfo info;
    catalog_batch b;
    REQUIRE_FALSE(reg.create(req, 0, nullptr, info, b));
  }
  ferry::error sub(const std::string& name, const std::string& pattern,
                   v1::SubscriptionOptions o = {}) {
    v1::CreateSubscription req;
    req.set_name(name);
    req.set_pattern(pattern);
    *req.mutable_options() = o;
    v1::SubscriptionInfo info;
    catalog_batch b;
    return reg.create_subscription(req, nullptr, info, b);
  }
  consumer& attach(const std::string& sub_name, uint32_t prefetch = 100) {
    consumers.push_back(std::make_unique<consumer>(consumers.size() + 1, sink, prefetch, false));
    reg.find_subscription(sub_name)->attach(*consumers.back());
    return *consumers.back();
  }
  v1::PublishOk publish(const std::string& topic, std::vector<std::string> payloads,
                        std::string producer = "", uint64_t first_seq = 0) {
    std::vector<uint8_t> body;
    ferry::wire::writer w(body);
    w.bytes_field(1, topic);
    w.bytes_field_nonempty(3, producer);
    w.varint_field(4, first_seq);
    for (auto& p : payloads) {
      ferry::codec::message_fields f;
      f.payload = p;
      ferry::codec::append_publish_message(body, f, {});
    }
    ferry::codec::publish_view pv;
    std::vector<std::string_view> msgs;
    REQUIRE(ferry::codec::parse_publish(ferry::wire::as_view(body), pv, msgs) == errc::ok);
    publish_request r{ferry::wire::as_view(body), pv, msgs};
    v1::PublishOk out;
    now.stamp();
    reg.find(topic)->publish(r, [&](const ferry::error& err, v1::PublishOk&& ok) {
      REQUIRE_FALSE(err);
      out = std::move(ok);
    });
    return out;
  }
  ~fixture() {
    for (auto& c : consumers)
      if (c->sub()) c->sub()->detach(*c);
  }
};

// A topic of another kind (a log topic, as the registry sees it).
struct other_kind_topic final : topic {
  std::string name_ = "events";
  v1::TopicOptions options_;
  const std::string& name() const override { return name_; }
  v1::TopicKind kind() const override { return v1::LOG; }
  const v1::TopicOptions& options() const override { return options_; }
  void describe(v1::TopicInfo&) const override {}
  void publish(publish_request&, publish_done) override {}
};

std::vector<std::string> payloads_of(const recording_sink& s, uint64_t consumer_id) {
  std::vector<std::string> out;
  for (const auto& r : s.records)
    if (r.consumer_id == consumer_id) out.push_back(r.payload);
  return out;
}

}  // namespace

TEST_CASE("registry routes to exact and wildcard subscriptions, also for topics created later",
          "[topics][registry]") {
  fixture f;
  f.topic("orders.eu");
  REQUIRE_FALSE(f.sub("exact", "orders.eu"));
  REQUIRE_FALSE(f.sub("one", "orders.*"));
  REQUIRE_FALSE(f.sub("tail", "orders.>"));
  f.topic("orders.eu.created");
  auto& exact = f.attach("exact");
  auto& one = f.attach("one");
  auto& tail = f.attach("tail");
  CHECK(f.publish("orders.eu", {"a"}).subscriptions() == 3);
  CHECK(f.publish("orders.eu.created", {"b"}).subscriptions() == 1);
  CHECK(payloads_of(f.sink, exact.id()) == std::vector<std::string>{"a"});
  CHECK(payloads_of(f.sink, one.id()) == std::vector<std::string>{"a"});
  CHECK(payloads_of(f.sink, tail.id()) == std::vector<std::string>{"a", "b"});
  CHECK(f.sink.records.back().topic == "orders.eu.created");
}

TEST_CASE("registry refuses bad names, patterns, unknown topics and log topics",
          "[topics][registry]") {
  fixture f;
  v1::TopicInfo info;
  catalog_batch ch;
  CHECK(f.sub("s", "orders.>.x").code == errc::invalid_pattern);
  CHECK(f.sub("bad name", "orders.*").code == errc::invalid_name);
  CHECK(f.sub("s", "missing").code == errc::topic_not_found);
  v1::SubscriptionOptions o;
  o.set_dead_letter_topic("nowhere");
  CHECK(f.sub("s", "orders.*", o).code == errc::topic_not_found);
  f.topic("t");
  REQUIRE_FALSE(f.sub("s", "t"));
  CHECK(f.sub("s", "t").code == errc::subscription_exists);
  v1::CreateTopic again;
  again.set_name("t");
  CHECK(f.reg.create(again, 0, nullptr, info, ch).code == errc::topic_exists);
  again.set_if_not_exists(true);
  CHECK_FALSE(f.reg.create(again, 0, nullptr, info, ch));
  CHECK(ch.empty());
  // A name that is a topic of another kind: refused for topics and exact patterns.
  other_kind_topic events;
  v1::CreateTopic clash;
  clash.set_name("events");
  CHECK(f.reg.create(clash, 0, &events, info, ch).code == errc::topic_exists);
  v1::CreateSubscription on_log;
  on_log.set_name("s2");
  on_log.set_pattern("events");
  v1::SubscriptionInfo si;
  CHECK(f.reg.create_subscription(on_log, &events, si, ch).code == errc::wrong_topic_kind);
}

TEST_CASE("idempotent publish enqueues a retried sequence once", "[topics][registry]") {
  fixture f;
  f.topic("t");
  REQUIRE_FALSE(f.sub("s", "t"));
  auto ok = f.publish("t", {"a", "b"}, "p1", 1);
  CHECK(ok.accepted() == 2);
  ok = f.publish("t", {"a", "b", "c"}, "p1", 1);  // a retry that overlaps, plus one new
  CHECK(ok.accepted() == 1);
  CHECK(ok.duplicates() == 2);
  ok = f.publish("t", {"x"}, "p2", 1);  // another producer has its own sequence
  CHECK(ok.accepted() == 1);
  CHECK(f.reg.find_subscription("s")->ready_count() == 4);
  ok = f.publish("t", {"zero"}, "p3", 0);  // sequences may start at 0
  CHECK(ok.accepted() == 1);
  ok = f.publish("t", {"zero"}, "p3", 0);
  CHECK(ok.duplicates() == 1);
  // The queues' probe counted it all: 5 accepted, 3 duplicates, nothing refused.
  CHECK(f.reg.probe().messages_published == 5);
  CHECK(f.reg.probe().duplicates == 3);
  CHECK(f.reg.probe().messages_refused == 0);
  CHECK(f.reg.probe().bytes_published > 0);
}

TEST_CASE("if_not_exists compares subscription options after defaults", "[topics][registry]") {
  fixture f;
  f.topic("t");
  REQUIRE_FALSE(f.sub("s", "t"));
  v1::CreateSubscription req;
  req.set_name("s");
  req.set_pattern("t");
  req.set_if_not_exists(true);
  req.mutable_options()->set_ack_timeout_ms(30000);  // the default, spelled out
  v1::SubscriptionInfo info;
  catalog_batch ch;
  CHECK_FALSE(f.reg.create_subscription(req, nullptr, info, ch));
  req.mutable_options()->set_ack_timeout_ms(5000);
  CHECK(f.reg.create_subscription(req, nullptr, info, ch).code == errc::subscription_exists);
}

TEST_CASE("temporary topics take only ephemeral subscriptions", "[topics][registry]") {
  fixture f;
  v1::CreateTopic tmp;
  tmp.set_name("_inbox.a");
  tmp.mutable_options()->set_temporary(true);
  v1::TopicInfo ti;
  catalog_batch ch;
  REQUIRE_FALSE(f.reg.create(tmp, 3, nullptr, ti, ch));
  CHECK(f.sub("durable", "_inbox.a").code == errc::invalid_argument);
  subscription* eph = nullptr;
  REQUIRE_FALSE(f.reg.create_ephemeral("_inbox.a", {}, nullptr, eph));
  auto& c = f.consumers.emplace_back(std::make_unique<consumer>(1, f.sink, 10, true));
  eph->attach(*c);
  f.reg.session_closed(3);  // the owner goes: topic and its subscription with it
  CHECK(f.reg.find("_inbox.a") == nullptr);
  CHECK(f.sink.cancelled == std::vector<uint64_t>{1});
}

TEST_CASE("reject-publish refuses a message for every subscription or none", "[topics][registry]") {
  fixture f;
  f.topic("t");
  v1::SubscriptionOptions small;
  small.set_max_messages(1);
  small.set_overflow(v1::REJECT_PUBLISH);
  REQUIRE_FALSE(f.sub("small", "t", small));
  REQUIRE_FALSE(f.sub("big", "t"));
  auto ok = f.publish("t", {"a", "b"});
  CHECK(ok.accepted() == 1);
  REQUIRE(ok.errors_size() == 1);
  CHECK(ok.errors(0).index() == 1);
  CHECK(ok.errors(0).code() == v1::QUEUE_FULL);
  CHECK(ok.errors(0).message().find("small") != std::string::npos);
  CHECK(f.reg.find_subscription("big")->ready_count() == 1);
  CHECK(f.reg.probe().messages_refused == 1);
}

TEST_CASE("dead-lettered messages carry reason, origin and delivery count", "[topics][registry]") {
  fixture f;
  f.topic("work");
  f.topic("work.dlq");
  v1::SubscriptionOptions o;
  o.set_dead_letter_topic("work.dlq");
  o.set_max_deliveries(2);
  REQUIRE_FALSE(f.sub("workers", "work", o));
  REQUIRE_FALSE(f.sub("dlq", "work.dlq"));
  auto& w = f.attach("workers", 1);
  f.publish("work", {"poison"});
  auto* s = f.reg.find_subscription("workers");
  REQUIRE_FALSE(s->nack(w, f.sink.records.back().delivery_id, false, ""));
  REQUIRE_FALSE(s->nack(w, f.sink.records.back().delivery_id, false, ""));
  auto& d = f.attach("dlq");
  REQUIRE(payloads_of(f.sink, d.id()) == std::vector<std::string>{"poison"});
  auto h = f.sink.headers(f.sink.records.size() - 1);
  auto has = [&](std::string k, std::string v) {
    return std::find(h.begin(), h.end(), std::pair{k, v}) != h.end();
  };
  CHECK(has("ferry-dead-letter-reason", "max_deliveries"));
  CHECK(has("ferry-original-topic", "work"));
  CHECK(has("ferry-subscription", "workers"));
  CHECK(has("ferry-delivery-count", "2"));
  CHECK(f.sink.records.back().topic == "work.dlq");
  CHECK(s->stats().dead_lettered == 1);
  CHECK(f.reg.probe().dead_lettered == 1);
  // Bytes: the original message's, once per delivery, once dead-lettered, none acked.
  CHECK(s->stats().dead_lettered_bytes > 6);  // "poison" and its Message framing
  CHECK(s->stats().delivered_bytes == 2 * s->stats().dead_lettered_bytes);
  CHECK(s->stats().acked_bytes == 0);
  CHECK(s->stats().dropped_bytes == 0);
}

TEST_CASE("per-topic TTL expires messages that wait too long", "[topics][registry]") {
  fixture f;
  f.topic("t", 100);
  REQUIRE_FALSE(f.sub("s", "t"));
  f.publish("t", {"a"});
  f.clk.advance(150);
  f.now.stamp();  // a timer tick is an event of its own
  f.reg.tick();
  auto* s = f.reg.find_subscription("s");
  CHECK(s->ready_count() == 0);
  CHECK(s->stats().expired == 1);
  CHECK(s->stats().dropped == 1);  // no dead-letter topic
  CHECK(s->stats().expired_bytes > 1);
  CHECK(s->stats().dropped_bytes == s->stats().expired_bytes);
  CHECK(s->stats().delivered_bytes == 0);
}

TEST_CASE("deleting a topic cancels consumers of its exact subscriptions only",
          "[topics][registry]") {
  fixture f;
  f.topic("t");
  REQUIRE_FALSE(f.sub("exact", "t"));
  REQUIRE_FALSE(f.sub("wild", ">"));
  auto& e = f.attach("exact");
  f.attach("wild");
  catalog_batch ch;
  f.reg.remove("t", ch);
  CHECK(f.reg.find("t") == nullptr);
  CHECK(f.sink.cancelled == std::vector<uint64_t>{e.id()});
  CHECK(f.reg.find_subscription("exact") == nullptr);
  CHECK(f.reg.find_subscription("wild") != nullptr);
  CHECK(ch.changes().size() == 2);  // the topic record and the exact subscription's record
}

TEST_CASE("definitions stored through the catalog load into a new registry", "[topics][registry]") {
  auto engine = ferry::storage::make_memory_engine();
  ferry::broker::testing::manual_clock clk;
  loop_clock now{clk};
  {
    queue_registry reg(now, {});
    catalog_batch ch;
    v1::CreateTopic t;
    t.set_name("a.b");
    t.mutable_options()->set_message_ttl_ms(5000);
    v1::TopicInfo ti;
    REQUIRE_FALSE(reg.create(t, 0, nullptr, ti, ch));
    v1::CreateTopic tmp;
    tmp.set_name("_inbox.x");
    tmp.mutable_options()->set_temporary(true);
    REQUIRE_FALSE(reg.create(tmp, 7, nullptr, ti, ch));
    v1::CreateSubscription s;
    s.set_name("s1");
    s.set_pattern("a.*");
    s.mutable_options()->set_max_deliveries(3);
    v1::SubscriptionInfo si;
    REQUIRE_FALSE(reg.create_subscription(s, nullptr, si, ch));
    subscription* eph = nullptr;
    REQUIRE_FALSE(reg.create_ephemeral("a.b", {}, nullptr, eph));
    CHECK(ch.changes().size() == 2);  // temporary topics and ephemeral subscriptions are not stored
    REQUIRE_FALSE(engine->meta().apply(ch.changes()));
    reg.remove_ephemeral(eph);
  }
  meta_catalog cat(
      engine->meta(), [](meta_catalog::task t) { t(); }, [](meta_catalog::task t) { t(); });
  catalog_snapshot snap;
  REQUIRE_FALSE(cat.load(snap));
  queue_registry reg(now, {});
  REQUIRE_FALSE(reg.recover(snap));
  REQUIRE(reg.find("a.b") != nullptr);
  CHECK(reg.find("a.b")->options().message_ttl_ms() == 5000);
  CHECK(reg.find("_inbox.x") == nullptr);
  auto* s = reg.find_subscription("s1");
  REQUIRE(s != nullptr);
  CHECK(s->options().max_deliveries == 3);
  CHECK(reg.find("a.b")->subscriptions().size() == 1);
}

TEST_CASE("the memory accountant blocks past the high-water mark until the low-water mark",
          "[topics][registry]") {
  memory_accountant m;
  m.set_limits(1000, 800);
  m.add(900);
  CHECK_FALSE(m.blocked());
  m.add(200);
  CHECK(m.blocked());
  m.sub(200);
  CHECK(m.blocked());  // 900: still above the low-water mark
  m.sub(100);
  CHECK_FALSE(m.blocked());
}
