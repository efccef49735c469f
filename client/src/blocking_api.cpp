// blocking_client: the async client on a private I/O thread. Each call posts the async
// operation to the I/O thread and waits on a future for its completion; the async
// client's request_timeout bounds every wait.
#include <condition_variable>
#include <mutex>

#include "client/src/blocking_core.h"
#include "client/src/client_impl.h"
#include "ferry/client/blocking_client.h"

namespace ferry::client {

using detail::call;
using detail::call_void;
using detail::closed_error;
using detail::io_core;
using detail::make_error;

// ---- blocking_consumer ----

struct blocking_consumer::state : detail::delivery_queue {
  state(std::shared_ptr<io_core> io, bool aa) : core(std::move(io)), auto_ack(aa) {}
  // Dropping the last handle detaches the consumer from the broker.
  ~state() {
    if (c.valid()) core->post([cons = c]() mutable { cons.async_close([](error) {}); });
  }

  std::shared_ptr<io_core> core;
  const bool auto_ack;
  consumer c;                // set once by subscribe(); copies are used on the I/O thread
  std::string subscription;  // as SubscribeOk named it
};

std::optional<delivery> blocking_consumer::next(std::chrono::milliseconds timeout) {
  auto& s = *state_;
  std::unique_lock lock(s.m);
  auto taken = s.take(lock, timeout);
  if (!taken) return std::nullopt;
  delivery d = std::move(*taken);
  lock.unlock();
  if (s.auto_ack) {
    // Credit goes back as the application takes deliveries, so the queue stays bounded.
    s.core->post([cons = s.c, epoch = d.connection_epoch()] {
      auto st = cons.impl();
      if (auto cl = st->client.lock()) cl->subs().grant_credit(st, epoch, 1);
    });
  }
  return d;
}

error blocking_consumer::closed_reason() const {
  return state_->closed_reason();
}

error blocking_consumer::ack(const delivery& d) {
  return call_void(*state_->core, [cons = state_->c, d](client&, auto done) mutable {
    cons.async_ack(d, std::move(done));
  });
}

error blocking_consumer::nack(const delivery& d, bool dead_letter, std::string_view reason) {
  return call_void(*state_->core, [cons = state_->c, d, dead_letter, r = std::string(reason)](
                                      client&, auto done) mutable {
    cons.async_nack(d, dead_letter, std::move(r), std::move(done));
  });
}

error blocking_consumer::extend(const delivery& d, std::chrono::milliseconds lease) {
  return call_void(*state_->core, [cons = state_->c, d, lease](client&, auto done) mutable {
    cons.async_extend(d, lease, std::move(done));
  });
}

error blocking_consumer::close() {
  error e = call_void(*state_->core, [cons = state_->c](client&, auto done) mutable {
    cons.async_close(std::move(done));
  });
  state_->close_with(error{});
  return e;
}

const std::string& blocking_consumer::subscription() const {
  return state_->subscription;
}

// ---- blocking_client ----

namespace {

// Starts the I/O thread with a client and connects it once.
std::pair<std::unique_ptr<blocking_client::impl>, error> start_client(client_options opts) {
  auto core = std::make_shared<io_core>();
  auto user_on_state = std::move(opts.on_state);
  opts.on_state = [w = std::weak_ptr<io_core>(core), user_on_state](connection_state s,
                                                                    const error& e) {
    if (auto c = w.lock()) c->state = s;
    if (user_on_state) user_on_state(s, e);
  };
  core->c = std::make_unique<client>(core->ioc.get_executor(), std::move(opts));
  core->start();
  error e = call_void(*core, [](client& c, auto done) { c.async_connect(std::move(done)); });
  return {std::make_unique<blocking_client::impl>(blocking_client::impl{core}), e};
}

}  // namespace

blocking_client::blocking_client(client_options opts) {
  auto [i, e] = start_client(std::move(opts));
  impl_ = std::move(i);
  if (e) impl_->core->shutdown();  // calls fail with errc::disconnected
}

blocking_client::blocking_client(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

blocking_client::~blocking_client() {
  impl_->core->shutdown();
}

result<std::unique_ptr<blocking_client>> blocking_client::connect(client_options opts) {
  auto [i, e] = start_client(std::move(opts));
  if (e) {
    i->core->shutdown();
    return e;
  }
  return std::unique_ptr<blocking_client>(new blocking_client(std::move(i)));
}

connection_state blocking_client::state() const {
  std::lock_guard lock(impl_->core->m);
  return impl_->core->stopped ? connection_state::closed : impl_->core->state.load();
}

void blocking_client::close() {
  impl_->core->shutdown();
}

result<publish_result> blocking_client::publish(const std::string& topic, message m) {
  return call<publish_result>(*impl_->core,
                              [topic, m = std::move(m)](client& c, auto done) mutable {
                                c.async_publish(topic, std::move(m), std::move(done));
                              });
}

result<batch_result> blocking_client::publish_batch(const std::string& topic,
                                                    std::vector<message> msgs) {
  return call<batch_result>(*impl_->core,
                            [topic, msgs = std::move(msgs)](client& c, auto done) mutable {
                              c.async_publish_batch(topic, std::move(msgs), std::move(done));
                            });
}

void blocking_client::publish_async(const std::string& topic, message m,
                                    std::function<void(const error&, const publish_result&)> done) {
  auto core = impl_->core;
  bool posted = core->post([core, topic, m = std::move(m), done]() mutable {
    if (!core->c) return done(closed_error(), publish_result{});
    core->c->async_publish(topic, std::move(m), [done](error e, publish_result r) { done(e, r); });
  });
  if (!posted) done(closed_error(), publish_result{});
}

void blocking_client::publish_batch_async(
    const std::string& topic, std::vector<message> msgs,
    std::function<void(const error&, const batch_result&)> done) {
  auto core = impl_->core;
  bool posted = core->post([core, topic, msgs = std::move(msgs), done]() mutable {
    if (!core->c) return done(closed_error(), batch_result{});
    core->c->async_publish_batch(topic, std::move(msgs),
                                 [done](error e, batch_result r) { done(e, r); });
  });
  if (!posted) done(closed_error(), batch_result{});
}

result<reply> blocking_client::request(const std::string& topic, message m,
                                       std::chrono::milliseconds timeout) {
  return call<reply>(*impl_->core,
                     [topic, m = std::move(m), timeout](client& c, auto done) mutable {
                       c.async_request(topic, std::move(m), timeout, std::move(done));
                     });
}

result<blocking_consumer> blocking_client::subscribe(subscribe_options opts) {
  auto st = std::make_shared<blocking_consumer::state>(impl_->core, opts.auto_ack);
  std::weak_ptr<blocking_consumer::state> w = st;
  auto r = call<consumer>(*impl_->core, [opts = std::move(opts), w](client& c, auto done) mutable {
    bool auto_ack = opts.auto_ack;
    auto on_delivery = [w](const delivery& d) {
      if (auto s = w.lock()) s->push(d);
    };
    c.async_subscribe(std::move(opts), on_delivery,
                      [w, auto_ack, done = std::move(done)](error e, consumer cons) mutable {
                        if (!e) {
                          // Still on the I/O thread, before any delivery is handled.
                          auto& cs = *cons.impl();
                          cs.manual_credit = auto_ack;
                          cs.on_closed = [w](const error& why) {
                            if (auto s = w.lock()) s->close_with(why);
                          };
                          if (auto s = w.lock()) s->subscription = cons.subscription();
                        }
                        done(std::move(e), std::move(cons));
                      });
  });
  if (!r) return r.err();
  st->c = std::move(r.value());
  return blocking_consumer(std::move(st));
}

result<v1::TopicInfo> blocking_client::create_topic(const v1::CreateTopic& req) {
  return call<v1::TopicInfo>(
      *impl_->core, [req](client& c, auto done) { c.async_create_topic(req, std::move(done)); });
}

result<v1::DeleteTopicOk> blocking_client::delete_topic(const v1::DeleteTopic& req) {
  return call<v1::DeleteTopicOk>(
      *impl_->core, [req](client& c, auto done) { c.async_delete_topic(req, std::move(done)); });
}

result<v1::TopicList> blocking_client::list_topics(const v1::ListTopics& req) {
  return call<v1::TopicList>(
      *impl_->core, [req](client& c, auto done) { c.async_list_topics(req, std::move(done)); });
}

result<v1::TopicInfo> blocking_client::describe_topic(const std::string& name) {
  v1::DescribeTopic req;
  req.set_name(name);
  return call<v1::TopicInfo>(
      *impl_->core, [req](client& c, auto done) { c.async_describe_topic(req, std::move(done)); });
}

result<v1::ScheduledList> blocking_client::list_scheduled(const v1::ListScheduled& req) {
  return call<v1::ScheduledList>(
      *impl_->core, [req](client& c, auto done) { c.async_list_scheduled(req, std::move(done)); });
}

result<v1::CancelScheduledOk> blocking_client::cancel_scheduled(const std::string& topic,
                                                                const std::string& id) {
  v1::CancelScheduled req;
  req.set_topic(topic);
  req.set_id(id);
  return call<v1::CancelScheduledOk>(*impl_->core, [req](client& c, auto done) {
    c.async_cancel_scheduled(req, std::move(done));
  });
}

result<v1::SubscriptionInfo> blocking_client::create_subscription(
    const v1::CreateSubscription& req) {
  return call<v1::SubscriptionInfo>(*impl_->core, [req](client& c, auto done) {
    c.async_create_subscription(req, std::move(done));
  });
}

result<v1::DeleteSubscriptionOk> blocking_client::delete_subscription(
    const v1::DeleteSubscription& req) {
  return call<v1::DeleteSubscriptionOk>(*impl_->core, [req](client& c, auto done) {
    c.async_delete_subscription(req, std::move(done));
  });
}

result<v1::SubscriptionList> blocking_client::list_subscriptions(const v1::ListSubscriptions& req) {
  return call<v1::SubscriptionList>(*impl_->core, [req](client& c, auto done) {
    c.async_list_subscriptions(req, std::move(done));
  });
}

result<v1::SubscriptionInfo> blocking_client::describe_subscription(const std::string& name) {
  v1::DescribeSubscription req;
  req.set_name(name);
  return call<v1::SubscriptionInfo>(*impl_->core, [req](client& c, auto done) {
    c.async_describe_subscription(req, std::move(done));
  });
}

result<v1::CommitOffsetsOk> blocking_client::commit_offsets(const std::string& group,
                                                            const std::string& topic,
                                                            const partition_offsets& offsets) {
  v1::CommitOffsets req;
  req.set_group(group);
  req.set_topic(topic);
  for (const auto& [p, off] : offsets) {
    auto* po = req.add_offsets();
    po->set_partition(p);
    po->set_offset(off);
  }
  return call<v1::CommitOffsetsOk>(
      *impl_->core, [req](client& c, auto done) { c.async_commit_offsets(req, std::move(done)); });
}

result<v1::OffsetList> blocking_client::fetch_offsets(const std::string& group,
                                                      const std::string& topic) {
  v1::FetchOffsets req;
  req.set_group(group);
  req.set_topic(topic);
  return call<v1::OffsetList>(
      *impl_->core, [req](client& c, auto done) { c.async_fetch_offsets(req, std::move(done)); });
}

result<v1::ClusterInfo> blocking_client::describe_cluster() {
  return call<v1::ClusterInfo>(
      *impl_->core, [](client& c, auto done) { c.async_describe_cluster(std::move(done)); });
}

result<v1::GroupList> blocking_client::list_groups() {
  return call<v1::GroupList>(*impl_->core, [](client& c, auto done) {
    c.async_list_groups(v1::ListGroups(), std::move(done));
  });
}

result<v1::GroupInfo> blocking_client::describe_group(const std::string& group) {
  v1::DescribeGroup req;
  req.set_group(group);
  return call<v1::GroupInfo>(
      *impl_->core, [req](client& c, auto done) { c.async_describe_group(req, std::move(done)); });
}

result<v1::OffsetList> blocking_client::reset_offsets(const v1::ResetOffsets& req) {
  return call<v1::OffsetList>(
      *impl_->core, [req](client& c, auto done) { c.async_reset_offsets(req, std::move(done)); });
}

result<v1::PurgeSubscriptionOk> blocking_client::purge_subscription(const std::string& name) {
  v1::PurgeSubscription req;
  req.set_name(name);
  return call<v1::PurgeSubscriptionOk>(*impl_->core, [req](client& c, auto done) {
    c.async_purge_subscription(req, std::move(done));
  });
}

result<v1::SubscriptionInfo> blocking_client::set_subscription_push(
    const v1::SetSubscriptionPush& req) {
  return call<v1::SubscriptionInfo>(*impl_->core, [req](client& c, auto done) {
    c.async_set_subscription_push(req, std::move(done));
  });
}

}  // namespace ferry::client
