#include "broker/services/consume_service.h"

#include <algorithm>
#include <memory>
#include <vector>

#include "broker/core/errors.h"
#include "broker/groups/group_coordinator.h"
#include "broker/logs/log_registry.h"
#include "broker/queues/queue_registry.h"
#include "broker/services/consumer_table.h"
#include "broker/services/topic_service.h"
#include "broker/topics/topic_directory.h"
#include "proto/codec/wire_errors.h"

namespace ferry::broker {
namespace {

ferry::error unknown_consumer(uint64_t id, const char* what = "open") {
  return fail(errc::unknown_consumer,
              "consumer " + std::to_string(id) + " is not " + what + " on this connection");
}

}  // namespace

// ---- memory topics ----

void consume_service::attach(consumer_table& client, subscription& sub, const v1::Subscribe& req,
                             const reply<v1::SubscribeOk>& done) {
  const auto& cfg = queues_.settings();
  uint32_t prefetch =
      req.prefetch() == 0 ? cfg.default_prefetch : std::min(req.prefetch(), cfg.max_prefetch);
  consumer& c = client.add(prefetch, req.auto_ack());
  // Deliveries attach() hands out wait in the sink until the flush: the answer goes first.
  sub.attach(c);
  v1::SubscribeOk ok;
  ok.set_consumer_id(c.id());
  ok.set_subscription(sub.name());
  ok.set_prefetch(prefetch);
  queues_.describe(sub, *ok.mutable_info());
  done({}, ok);
}

void consume_service::subscribe(consumer_table& client, const v1::Subscribe& req,
                                reply<v1::SubscribeOk> done) {
  if (req.subscription().empty()) {
    if (req.pattern().empty())
      return done(fail(errc::invalid_argument,
                       "Subscribe needs a subscription name or, for an ephemeral one, a pattern"),
                  {});
    const topic* target = topics_.find(req.pattern());
    subscription* sub = nullptr;
    if (auto err = queues_.create_ephemeral(
            req.pattern(), req.options(),
            target != nullptr && target->kind() != v1::MEMORY ? target : nullptr, sub))
      return done(err, {});
    return attach(client, *sub, req, done);
  }
  if (subscription* sub = queues_.find_subscription(req.subscription());
      sub != nullptr && !sub->ephemeral()) {
    if (!req.pattern().empty() && req.pattern() != sub->pattern())
      return done(fail(errc::subscription_exists, "subscription " + quoted(sub->name()) +
                                                      " has pattern " + quoted(sub->pattern()) +
                                                      ", not " + quoted(req.pattern())),
                  {});
    return attach(client, *sub, req, done);
  }
  if (!req.create_if_missing())
    return done(fail(errc::subscription_not_found,
                     "subscription " + quoted(req.subscription()) + " does not exist"),
                {});
  v1::CreateSubscription create;
  create.set_name(req.subscription());
  create.set_pattern(req.pattern());
  *create.mutable_options() = req.options();
  // Durable before the consumer sees a message of it.
  admin_.create_subscription(
      create, [this, &client, watch = client.lifetime().watch(), req, done = std::move(done)](
                  const ferry::error& err, const v1::SubscriptionInfo&) {
        if (watch.expired()) return;
        if (err) return done(err, {});
        if (auto* sub = queues_.find_subscription(req.subscription()))
          return attach(client, *sub, req, done);
        done(fail(errc::subscription_not_found, "subscription was deleted meanwhile"), {});
      });
}

void consume_service::settle(consumer_table& client, uint64_t consumer_id,
                             const subscription::settle_request& r, std::span<const uint64_t> ids,
                             reply<v1::SettleOk> done) {
  consumer* c = client.find(consumer_id);
  if (c == nullptr || c->sub() == nullptr) return done(unknown_consumer(consumer_id), {});
  if (c->auto_ack())
    return done(
        fail(errc::invalid_argument, "consumer " + std::to_string(consumer_id) +
                                         " is auto_ack: its deliveries are settled when sent"),
        {});
  v1::SettleOk out;
  subscription& sub = *c->sub();
  out.set_settled(sub.settle(*c, r, ids, [&out](uint64_t id, const ferry::error& why) {
    auto* e = out.add_errors();
    e->set_delivery_id(id);
    e->set_code(codec::to_wire(why.code));
    e->set_message(why.message);
  }));
  settle_barrier* barrier =
      r.kind == subscription::settle_kind::extend ? nullptr : sub.env().barrier();
  if (barrier == nullptr || out.settled() == 0) return done({}, out);
  barrier->after_durable([watch = client.lifetime().watch(), out = std::move(out),
                          done = std::move(done)](const ferry::error& err) {
    if (!watch.expired()) done(err, out);
  });
}

// ---- both kinds ----

ferry::error consume_service::unsubscribe(consumer_table& client, uint64_t consumer_id) {
  if (client.find(consumer_id) == nullptr) return unknown_consumer(consumer_id);
  client.remove(consumer_id, /*write_pending=*/true);
  return {};
}

void consume_service::credit(consumer_table& client, const v1::Credit& req) {
  consumer* c = client.find(req.consumer_id());
  // Credit for a consumer the broker just cancelled is a benign race: ignored.
  if (c == nullptr || c->source() == nullptr) return;
  // One row of the option table fills both caps (memory_topics.max_prefetch).
  if (req.prefetch() != 0)
    c->source()->set_prefetch(*c, std::min(req.prefetch(), queues_.settings().max_prefetch));
  if (req.credit() != 0) c->source()->credit(*c, req.credit());
}

// ---- log topics ----

namespace {

// Resolves every start position of a ConsumeLog (TIME ones in storage), then attaches.
struct consume_job {
  std::vector<v1::PartitionStart> starts;
  size_t outstanding = 0;
  ferry::error first_error;
};

}  // namespace

void consume_service::consume_log(consumer_table& client, const v1::ConsumeLog& req,
                                  const std::string& client_id, reply<v1::ConsumeLogOk> done) {
  log_topic* t = logs_.find(req.topic());
  if (t == nullptr) {
    if (topics_.find(req.topic()) != nullptr)
      return done(fail(errc::wrong_topic_kind, "topic " + quoted(req.topic()) +
                                                   " is a memory topic: Subscribe to it instead"),
                  {});
    return done(fail(errc::topic_not_found, "topic " + quoted(req.topic()) + " does not exist"),
                {});
  }
  const auto& lc = logs_.settings();
  const uint32_t credit =
      std::min(req.credit() == 0 ? lc.default_credit : req.credit(), lc.max_credit);
  if (!req.group().empty()) return join_group(client, req, *t, client_id, credit, done);
  if (req.partitions().empty())
    return done(fail(errc::invalid_argument, "ConsumeLog needs partitions (or a group)"), {});
  auto job = std::make_shared<consume_job>();
  job->starts.assign(req.partitions().begin(), req.partitions().end());
  job->outstanding = job->starts.size();
  auto finish = [this, &client, watch = client.lifetime().watch(), job, topic = req.topic(), credit,
                 done = std::move(done)] {
    if (watch.expired()) return;
    if (job->first_error) return done(job->first_error, {});
    log_topic* lt = logs_.find(topic);
    if (lt == nullptr)
      return done(fail(errc::topic_not_found, "topic " + quoted(topic) + " was deleted"), {});
    consumer& c = client.add(credit, true);
    std::vector<v1::PartitionAssignment> assigned;
    if (auto err = lt->attach(c, job->starts, assigned)) {
      client.remove(c.id());
      return done(err, {});
    }
    v1::ConsumeLogOk ok;
    ok.set_consumer_id(c.id());
    for (auto& a : assigned)
      *ok.add_assigned() = a;
    done({}, ok);
  };
  for (size_t i = 0; i < job->starts.size(); ++i) {
    t->resolve(job->starts[i].partition(), job->starts[i].start(),
               [job, i, finish](ferry::error err, uint64_t off) {
                 if (err && !job->first_error) job->first_error = err;
                 job->starts[i].mutable_start()->set_kind(v1::Position::OFFSET);
                 job->starts[i].mutable_start()->set_value(static_cast<int64_t>(off));
                 if (--job->outstanding == 0) finish();
               });
  }
}

void consume_service::join_group(consumer_table& client, const v1::ConsumeLog& req, log_topic& t,
                                 const std::string& client_id, uint32_t credit,
                                 const reply<v1::ConsumeLogOk>& done) {
  if (!req.partitions().empty())
    return done(fail(errc::invalid_argument,
                     "a group member does not name partitions: the group assigns them"),
                {});
  ferry::error err;
  consumer_group* g = groups_.group_for(req.group(), req.topic(), err);
  if (g == nullptr) return done(err, {});
  consumer& c = client.add(credit, true);
  std::vector<v1::PartitionAssignment> none;
  (void)t.attach(c, {}, none);
  v1::ConsumeLogOk ok;
  groups_.join(*g, t, c, client_id, req, ok);
  done({}, ok);
}

void consume_service::seek(consumer_table& client, const v1::Seek& req, reply<v1::SeekOk> done) {
  consumer* c = client.find(req.consumer_id());
  if (c == nullptr || c->reader() == nullptr)
    return done(unknown_consumer(req.consumer_id(), "a log reader"), {});
  c->reader()->topic().resolve(
      req.partition(), req.position(),
      [&client, watch = client.lifetime().watch(), id = req.consumer_id(), p = req.partition(),
       done = std::move(done)](ferry::error err, uint64_t off) {
        if (watch.expired()) return;
        consumer* cc = client.find(id);
        if (!err && (cc == nullptr || cc->reader() == nullptr))
          err = fail(errc::unknown_consumer, "the consumer closed meanwhile");
        if (!err) err = cc->reader()->topic().seek(*cc, p, off);
        if (err) return done(err, {});
        v1::SeekOk ok;
        ok.set_next_offset(off);
        done({}, ok);
      });
}

}  // namespace ferry::broker
