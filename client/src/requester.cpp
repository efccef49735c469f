#include "client/src/requester.h"

#include "ferry/v1/admin.pb.h"

#include "client/src/publisher.h"
#include "client/src/subscriber.h"

namespace ferry::client::detail {

void requester::request(std::string topic, message m, std::chrono::milliseconds timeout,
                        handler<reply> h) {
  if (c_.closed()) {
    complete_later(c_.executor(), std::move(h), make_error(errc::disconnected, "client closed"),
                   reply{});
    return;
  }
  auto w = std::make_shared<waiter>(c_.executor());
  // Unique on this client; replies come only to this client's inbox.
  w->correlation_id = "req-" + std::to_string(++last_request_);
  w->topic = std::move(topic);
  w->msg = std::move(m);
  assign(w->h, std::move(h));
  waiting_[w->correlation_id] = w;
  w->timer.expires_after(timeout);
  w->timer.async_wait(lifetime_.guard([this, w, timeout](boost::system::error_code ec) {
    if (ec) return;
    finish(w,
           make_error(errc::timeout, "no reply within " + std::to_string(timeout.count()) + " ms"),
           reply{});
  }));
  if (inbox_state_ == inbox_state::ready) {
    send(w);
  } else {
    need_inbox_.push_back(w);
    ensure_inbox();
  }
}

// Creates the connection's inbox: a temporary memory topic, then an auto_ack consumer.
void requester::ensure_inbox() {
  if (inbox_state_ != inbox_state::none) return;
  inbox_state_ = inbox_state::creating;
  inbox_ = "_inbox." + c_.random_hex(16);
  auto req = std::make_shared<v1::CreateTopic>();
  req->set_name(inbox_);
  req->set_kind(v1::MEMORY);
  req->mutable_options()->set_temporary(true);
  c_.send_request(codec::body::create_topic, req, codec::body::topic_info,
                  std::make_shared<v1::TopicInfo>(),
                  lifetime_.guard([this, gen = generation_](error e) { on_inbox_topic(gen, e); }));
}

void requester::on_inbox_topic(uint64_t generation, const error& e) {
  if (generation != generation_) return;
  if (e) {
    inbox_state_ = inbox_state::none;
    auto list = std::move(need_inbox_);
    need_inbox_.clear();
    error why{e.code, "creating the reply inbox: " + e.message};
    for (auto& w : list)
      finish(w, why, reply{});
    return;
  }
  auto s = new_state_();
  s->internal = true;
  s->opts.pattern = inbox_;
  s->opts.auto_ack = true;
  s->on_delivery = lifetime_.guard([this](const delivery& d) { on_reply(d); });
  subs_.subscribe(s, lifetime_.guard([this, generation](error err, consumer cons) {
    on_inbox_consumer(generation, err, std::move(cons));
  }));
}

void requester::on_inbox_consumer(uint64_t generation, const error& e, consumer cons) {
  if (generation != generation_) return;  // that connection is gone, and the inbox with it
  auto list = std::move(need_inbox_);
  need_inbox_.clear();
  if (e) {
    inbox_state_ = inbox_state::none;
    error why{e.code, "subscribing to the reply inbox: " + e.message};
    for (auto& w : list)
      finish(w, why, reply{});
    return;
  }
  inbox_consumer_ = std::move(cons);
  inbox_state_ = inbox_state::ready;
  for (auto& w : list)
    if (!w->done) send(w);
}

void requester::send(const std::shared_ptr<waiter>& w) {
  message m = std::move(w->msg);
  m.reply_to = inbox_;
  m.correlation_id = w->correlation_id;
  pub_.publish(w->topic, std::move(m),
               lifetime_.guard([this, id = w->correlation_id](error e, publish_result r) {
                 on_published(id, e, r);
               }));
}

// A request that no subscription received can have no reply.
void requester::on_published(const std::string& correlation_id, const error& e,
                             const publish_result& r) {
  auto it = waiting_.find(correlation_id);
  if (it == waiting_.end()) return;
  if (e)
    finish(it->second, e, reply{});
  else if (r.subscriptions == 0)
    finish(it->second, make_error(errc::no_responders, "no subscription received the request"),
           reply{});
}

void requester::on_reply(const delivery& d) {
  auto it = waiting_.find(std::string(d.fields().correlation_id));
  if (it == waiting_.end()) return;  // late or unknown: dropped
  reply r;
  r.topic = d.topic();
  r.payload = d.payload();
  for (const auto& h : d.headers())
    r.headers.emplace_back(h.key, h.value);
  r.correlation_id = d.fields().correlation_id;
  finish(it->second, error{}, std::move(r));
}

void requester::finish(const std::shared_ptr<waiter>& waiter_ref, const error& e, reply r) {
  // Callers pass the map's own pointer: hold a copy, the erase below destroys theirs.
  std::shared_ptr<waiter> w = waiter_ref;
  if (w->done) return;
  w->done = true;
  waiting_.erase(w->correlation_id);
  w->timer.cancel();
  complete(c_.executor(), std::move(w->h), e, std::move(r));
}

// The inbox dies with its connection: requests under way cannot get their reply.
void requester::on_disconnected() {
  ++generation_;
  inbox_state_ = inbox_state::none;
  inbox_consumer_ = consumer{};
  fail_waiting(make_error(errc::disconnected, "connection lost; the reply inbox went with it"));
}

void requester::fail_all(const error& e) {
  ++generation_;
  inbox_state_ = inbox_state::none;
  inbox_consumer_ = consumer{};
  fail_waiting(e);
}

void requester::fail_waiting(const error& e) {
  need_inbox_.clear();
  std::vector<std::shared_ptr<waiter>> all;
  for (auto& [id, w] : waiting_)
    all.push_back(w);
  for (auto& w : all)
    finish(w, e, reply{});
}

}  // namespace ferry::client::detail
