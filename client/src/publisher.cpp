// publisher: admission (size checks, back-pressure queue), routing to lanes, encoding,
// framing and the send slots of log lanes. Topic kinds are learnt in
// publisher_topics.cpp; what happens to a frame's answer is in publish_result.cpp.
#include "client/src/publisher.h"

#include <boost/asio/post.hpp>

#include "proto/codec/names.h"

namespace ferry::client::detail {

namespace {

// The fields of `m` as views into it.
codec::message_fields fields_of(const message& m) {
  codec::message_fields f;
  f.payload = m.payload;
  f.key = m.key;
  f.ttl_ms = m.ttl.count() > 0 ? static_cast<uint64_t>(m.ttl.count()) : 0;
  f.reply_to = m.reply_to;
  f.correlation_id = m.correlation_id;
  f.id = m.id;
  f.source = m.source;
  f.type = m.type;
  f.subject = m.subject;
  f.time_ms = m.time_ms;
  f.content_type = m.content_type;
  f.traceparent = m.traceparent;
  f.expiry_time_ms = m.expiry_time_ms;
  f.delay_ms = m.delay.count() > 0 ? static_cast<uint64_t>(m.delay.count()) : 0;
  f.not_before_ms = m.not_before_ms;
  return f;
}

// Bytes of a Publish frame around its messages: length prefix, envelope, topic,
// producer id (with an epoch suffix), sequence and partition (an upper bound).
size_t frame_overhead(size_t topic_bytes, size_t producer_bytes) {
  return 96 + topic_bytes + producer_bytes;
}

// The broker refuses a log-topic message whose string fields are not UTF-8 one by one,
// which would break an idempotent producer's contiguous sequences: checked here instead.
error check_strings(const message& m) {
  const std::pair<const char*, const std::string*> fields[] = {
      {"reply_to", &m.reply_to},
      {"correlation_id", &m.correlation_id},
      {"id", &m.id},
      {"source", &m.source},
      {"type", &m.type},
      {"subject", &m.subject},
      {"content_type", &m.content_type},
      {"traceparent", &m.traceparent}};
  for (const auto& [name, value] : fields)
    if (!wire::valid_utf8(*value))
      return make_error(errc::invalid_argument, std::string(name) + " is not valid UTF-8");
  for (const auto& h : m.headers)
    if (!wire::valid_utf8(h.first))
      return make_error(errc::invalid_argument, "a header key is not valid UTF-8");
  return {};
}

bool has_slot(const link& c, const lane& l) {
  return !l.partition || !c.options().idempotent || l.in_flight < publisher::max_in_flight;
}

}  // namespace

publisher::publisher(link& c) : c_(c), linger_timer_(c.executor()) {}

void publisher::publish(std::string topic, message m, handler<publish_result> h) {
  if (c_.closed()) {
    complete_later(c_.executor(), std::move(h), make_error(errc::disconnected, "client closed"),
                   publish_result{});
    return;
  }
  if (!queue_.empty() || over_limit()) {
    queued q;
    q.topic = std::move(topic);
    q.msg = std::move(m);
    assign(q.single, std::move(h));
    queue_.push_back(std::move(q));
    return;
  }
  publish_target target;
  assign(target.single, std::move(h));
  error err;
  if (topic_state* t = this->topic(topic, err))
    admit_or_hold(*t, std::move(m), std::move(target));
  else
    complete_later(c_.executor(), std::move(target.single), err, publish_result{});
}

void publisher::publish_batch(std::string topic, std::vector<message> msgs,
                              handler<batch_result> h) {
  if (c_.closed() || msgs.empty()) {
    error e = c_.closed() ? make_error(errc::disconnected, "client closed") : error{};
    complete_later(c_.executor(), std::move(h), e, batch_result{});
    return;
  }
  auto b = std::make_shared<batch_op>();
  assign(b->h, std::move(h));
  b->size = static_cast<uint32_t>(msgs.size());
  b->remaining = b->size;
  b->msgs = std::move(msgs);
  uint32_t next = 0;
  if (queue_.empty() && !over_limit()) next = admit_batch(topic, b, 0);
  if (next < b->size) {
    queued q;
    q.topic = std::move(topic);
    q.batch = std::move(b);
    q.next = next;
    queue_.push_back(std::move(q));
  }
}

bool publisher::over_limit() const {
  size_t limit = c_.options().max_unconfirmed_bytes;
  return limit != 0 && unconfirmed_bytes_ + held_bytes_ >= limit;
}

topic_state* publisher::topic(const std::string& name, error& err) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return &it->second;
  std::string why = names::check_name(name);
  if (!why.empty()) {
    err = make_error(errc::invalid_name, why);
    return nullptr;
  }
  topic_state& t = topics_[name];
  t.name = name;
  t.whole.topic = &t;
  t.whole.next_sequence = 1;
  // The requester's reply inboxes are temporary memory topics: replies skip the describe.
  if (name.rfind("_inbox.", 0) == 0) t.k = topic_state::kind::memory;
  return &t;
}

void publisher::admit_or_hold(topic_state& t, message&& m, publish_target&& target) {
  if (t.k == topic_state::kind::unknown || t.stale) describe(t);
  if (t.k == topic_state::kind::describing) {
    size_t bytes = m.payload.size() + m.key.size() + 64;
    held_bytes_ += bytes;
    t.holding.push_back({std::move(m), std::move(target), bytes});
    return;
  }
  if (error err = admit(t, m, target)) fail_target(target, err, false);
}

void publisher::fail_target(publish_target& target, const error& e, bool whole) {
  if (target.batch) {
    for (uint32_t i = 0; i < target.count; ++i)
      batch_fail(*target.batch, target.first + i, e, whole);
    target.batch->remaining -= target.count;
    batch_finish_if_done(c_, target.batch, true);
  } else {
    complete_later(c_.executor(), std::move(target.single), e, publish_result{});
  }
}

size_t publisher::batch_limit(const topic_state& t) const {
  size_t limit = std::max<size_t>(c_.options().max_batch_bytes, 1);
  size_t overhead = frame_overhead(t.name.size(), c_.producer_id().size());
  if (c_.max_frame_bytes() > overhead)
    limit = std::min<size_t>(limit, c_.max_frame_bytes() - overhead);
  return limit;
}

lane& publisher::log_lane(topic_state& t, uint32_t partition) {
  while (t.parts.size() <= partition) {
    auto l = std::make_unique<lane>();
    l->topic = &t;
    l->partition = static_cast<uint32_t>(t.parts.size());
    t.parts.push_back(std::move(l));
  }
  return *t.parts[partition];
}

error publisher::route(topic_state& t, const message& m, lane*& out) {
  if (t.k != topic_state::kind::log) {
    if (m.partition)
      return make_error(errc::invalid_argument,
                        "partition applies to log topics only; '" + t.name + "' is a memory topic");
    out = &t.whole;
    return {};
  }
  if (error e = check_strings(m)) return e;
  uint32_t p = 0;
  if (m.partition) {
    if (*m.partition >= t.partitions) {
      t.stale = true;  // the topic may have been re-created with more partitions
      return make_error(errc::partition_not_found, "topic '" + t.name + "' has partitions 0.." +
                                                       std::to_string(t.partitions - 1) + ", not " +
                                                       std::to_string(*m.partition));
    }
    p = *m.partition;
  } else if (!m.key.empty()) {
    p = names::partition_for_key(m.key, t.partitions);
  } else {
    p = t.round_robin++ % t.partitions;
  }
  out = &log_lane(t, p);
  return {};
}

// `target` is moved from only on success.
error publisher::admit(topic_state& t, const message& m, publish_target& target) {
  lane* l = nullptr;
  if (error e = route(t, m, l)) return e;
  codec::message_fields f = fields_of(m);
  header_scratch_.clear();
  for (const auto& [k, v] : m.headers)
    header_scratch_.push_back({k, v});
  size_t n = codec::message_size(f, header_scratch_);
  if (c_.max_message_bytes() != 0 && n > c_.max_message_bytes())
    return make_error(errc::message_too_large, "message of " + std::to_string(n) +
                                                   " bytes exceeds max_message_bytes " +
                                                   std::to_string(c_.max_message_bytes()));
  size_t field = wire::len_field_size(2, n);
  size_t overhead = frame_overhead(t.name.size(), c_.producer_id().size());
  if (c_.max_frame_bytes() != 0 && field + overhead > c_.max_frame_bytes())
    return make_error(errc::message_too_large, "message of " + std::to_string(n) +
                                                   " bytes exceeds max_frame_bytes " +
                                                   std::to_string(c_.max_frame_bytes()));
  size_t limit = batch_limit(t);
  frame_buffer& fb = l->open;
  // The broker schedules a Publish whose first message is delayed, whole: a delayed message
  // goes alone (PROTOCOL.md 5.7).
  const bool delayed = m.delay.count() > 0 || m.not_before_ms != 0;
  if (fb.count > 0 && (delayed || fb.messages.size() + field > limit)) close_frame(*l);
  fb.delayed = delayed;
  if (fb.count == 0) fb.opened = std::chrono::steady_clock::now();
  reserve_more(fb.messages, field);
  codec::append_publish_message(fb.messages, f, header_scratch_);
  ++fb.count;
  unconfirmed_bytes_ += field;
  auto& targets = fb.targets;
  if (target.batch && !targets.empty() && targets.back().batch == target.batch &&
      targets.back().first + targets.back().count == target.first) {
    ++targets.back().count;  // one run per batch and frame, not one entry per message
  } else {
    targets.push_back(std::move(target));
  }
  if (delayed || fb.messages.size() >= limit)
    close_frame(*l);
  else
    mark_dirty(*l);
  return {};
}

uint32_t publisher::admit_batch(const std::string& topic, const std::shared_ptr<batch_op>& b,
                                uint32_t next) {
  error err;
  topic_state* t = this->topic(topic, err);
  uint32_t i = next;
  for (; i < b->size; ++i) {
    if (t != nullptr && over_limit()) break;
    if (t == nullptr) {
      batch_fail(*b, i, err, true);
      --b->remaining;
      continue;
    }
    publish_target target;
    target.batch = b;
    target.first = i;
    admit_or_hold(*t, std::move(b->msgs[i]), std::move(target));
  }
  if (i == b->size) {
    b->msgs = {};  // every message is encoded or held: free the originals
    batch_finish_if_done(c_, b, true);
  }
  return i;
}

void publisher::mark_dirty(lane& l) {
  if (l.dirty) return;
  l.dirty = true;
  dirty_.push_back(&l);
  auto linger = c_.options().linger;
  if (linger.count() > 0) {
    arm_linger(l.open.opened + linger);
  } else if (!flush_posted_) {
    flush_posted_ = true;
    asio::post(c_.executor(), lifetime_.guard([this] { flush(); }));
  }
}

// Deadlines only grow (buffers open in time order), so an armed timer is never late.
void publisher::arm_linger(std::chrono::steady_clock::time_point at) {
  if (linger_armed_ || c_.closed()) return;
  linger_armed_ = true;
  linger_timer_.expires_at(at);
  linger_timer_.async_wait(lifetime_.guard([this](boost::system::error_code ec) {
    linger_armed_ = false;
    if (!ec && !c_.closed()) flush();
  }));
}

void publisher::close_frame(lane& l) {
  if (l.open.count == 0) return;
  if (l.waiting.empty() && has_slot(c_, l)) {
    send_frame(l, l.open);
    return;
  }
  l.waiting.push_back(std::move(l.open));
  l.open = frame_buffer{};
}

// Leaves `fb` empty (its message buffer keeps its capacity for the next frame).
void publisher::send_frame(lane& l, frame_buffer& fb) {
  codec::publish_view head;
  head.topic = l.topic->name;
  head.partition = l.partition;
  // A delayed frame takes no sequence: the broker stores it in its schedule, not in the
  // topic whose producer state would then see a gap.
  if (c_.options().idempotent && !fb.delayed) {
    if (l.producer.empty()) l.producer = c_.producer_id();
    head.producer_id = l.producer;
    head.first_sequence = l.next_sequence;
    l.next_sequence += fb.count;
  }
  uint64_t id = c_.next_id();
  std::vector<uint8_t> frame;
  codec::append_publish_frame(frame, id, head, wire::as_view(fb.messages));
  size_t bytes = fb.messages.size();
  std::vector<publish_target> targets = std::move(fb.targets);
  fb.targets.clear();
  fb.messages.clear();
  fb.count = 0;
  fb.delayed = false;
  ++l.in_flight;
  c_.register_op(id,
                 make_publish_op(*this, std::move(frame), bytes, std::move(targets), l, l.epoch));
}

void publisher::flush() {
  flush_posted_ = false;
  auto linger = c_.options().linger;
  auto now = std::chrono::steady_clock::now();
  auto next = std::chrono::steady_clock::time_point::max();
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (lane* l : dirty) {
    if (l->open.count == 0) {
      l->dirty = false;
    } else if (linger.count() > 0 && l->open.opened + linger > now) {
      dirty_.push_back(l);  // still lingering
      next = std::min(next, l->open.opened + linger);
    } else {
      l->dirty = false;
      // Without a send slot, pump() sends it when a frame of the lane is answered.
      if (l->waiting.empty() && has_slot(c_, *l)) send_frame(*l, l->open);
    }
  }
  if (next != std::chrono::steady_clock::time_point::max()) arm_linger(next);
}

void publisher::pump(lane& l) {
  while (!l.waiting.empty() && has_slot(c_, l)) {
    send_frame(l, l.waiting.front());
    l.waiting.pop_front();
  }
  if (!l.dirty && l.open.count > 0 && l.waiting.empty() && has_slot(c_, l)) send_frame(l, l.open);
}

void publisher::frame_done(lane& l, uint32_t epoch, frame_outcome outcome, bool answered) {
  if (l.in_flight > 0) --l.in_flight;
  if (outcome != frame_outcome::ok && l.partition && c_.options().idempotent && epoch == l.epoch) {
    // The broker may not have recorded these sequences: frames after them would be gaps.
    // A new producer id starts over; the broker accepts any first sequence of it.
    ++l.epoch;
    l.next_sequence = 0;
    l.producer = c_.producer_id() + "-" + std::to_string(l.epoch);
  }
  if (outcome == frame_outcome::refresh) l.topic->stale = true;
  if (c_.closed()) return;
  if (answered) {
    pump(l);
    return;
  }
  // A failure without an answer (timeout, close, a failed first connect): the client may
  // be failing everything right now, so the lane's next frames go out from a later turn.
  asio::post(c_.executor(), lifetime_.guard([this, lp = &l] {
    if (!c_.closed()) pump(*lp);
  }));
}

void publisher::release(size_t bytes) {
  unconfirmed_bytes_ -= std::min(bytes, unconfirmed_bytes_);
  drain();
}

// Encodes queued publishes, in order, while under the unconfirmed-bytes limit.
void publisher::drain() {
  while (!queue_.empty() && !over_limit() && !c_.closed()) {
    queued& q = queue_.front();
    if (q.batch) {
      uint32_t at = admit_batch(q.topic, q.batch, q.next);
      if (at < q.batch->size) {
        q.next = at;
        return;
      }
    } else {
      error err;
      publish_target target;
      assign(target.single, std::move(q.single));
      if (topic_state* t = topic(q.topic, err))
        admit_or_hold(*t, std::move(q.msg), std::move(target));
      else
        complete_later(c_.executor(), std::move(target.single), err, publish_result{});
    }
    queue_.pop_front();
  }
}

// Collects everything first: a handler completed inline may publish again.
void publisher::fail_all(const error& e) {
  linger_timer_.cancel();
  std::vector<publish_target> targets;
  auto take = [&](frame_buffer& fb) {
    for (auto& t : fb.targets)
      targets.push_back(std::move(t));
    fb.targets.clear();
    fb.messages.clear();
    fb.count = 0;
  };
  auto fail_lane = [&](lane& l) {
    take(l.open);
    for (auto& fb : l.waiting)
      take(fb);
    l.waiting.clear();
    l.dirty = false;
  };
  for (auto& [name, t] : topics_) {
    fail_lane(t.whole);
    for (auto& l : t.parts)
      fail_lane(*l);
    for (auto& h : t.holding)
      targets.push_back(std::move(h.target));
    t.holding.clear();
    if (t.k == topic_state::kind::describing) t.k = topic_state::kind::unknown;
  }
  held_bytes_ = 0;
  dirty_.clear();
  auto queue = std::move(queue_);
  queue_.clear();
  fail_targets(c_, targets, e);
  for (auto& q : queue) {
    if (q.batch) {
      for (uint32_t i = q.next; i < q.batch->size; ++i)
        batch_fail(*q.batch, i, e, true);
      q.batch->remaining -= q.batch->size - q.next;
      batch_finish_if_done(c_, q.batch, false);
    } else {
      complete(c_.executor(), std::move(q.single), e, publish_result{});
    }
  }
  unconfirmed_bytes_ = 0;
}

}  // namespace ferry::client::detail
