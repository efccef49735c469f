// publisher: admission (size checks, back-pressure queue), per-topic encoding and
// framing. What happens to a frame's answer is in publish_result.cpp.
#include "client/src/publisher.h"

#include <boost/asio/post.hpp>

#include "client/src/client_impl.h"
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
  return f;
}

// Bytes of a Publish frame around its messages: length prefix, envelope, topic,
// producer id and sequence (an upper bound).
size_t frame_overhead(size_t topic_bytes, size_t producer_bytes) {
  return 64 + topic_bytes + producer_bytes;
}

}  // namespace

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
  error err;
  publish_target target;
  assign(target.single, std::move(h));
  if (topic_state* t = this->topic(topic, err)) err = admit(*t, m, target);
  if (err) complete_later(c_.executor(), std::move(target.single), err, publish_result{});
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
  return limit != 0 && unconfirmed_bytes_ >= limit;
}

publisher::topic_state* publisher::topic(const std::string& name, error& err) {
  auto it = topics_.find(name);
  if (it != topics_.end()) return &it->second;
  std::string why = names::check_name(name);
  if (!why.empty()) {
    err = make_error(errc::invalid_name, why);
    return nullptr;
  }
  topic_state& t = topics_[name];
  t.name = name;
  return &t;
}

size_t publisher::batch_limit(const topic_state& t) const {
  size_t limit = std::max<size_t>(c_.options().max_batch_bytes, 1);
  size_t overhead = frame_overhead(t.name.size(), c_.producer_id().size());
  if (c_.max_frame_bytes() > overhead)
    limit = std::min<size_t>(limit, c_.max_frame_bytes() - overhead);
  return limit;
}

// `target` is moved from only on success.
error publisher::admit(topic_state& t, const message& m, publish_target& target) {
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
  if (t.count > 0 && t.messages.size() + field > limit) build_frame(t);
  reserve_more(t.messages, field);
  codec::append_publish_message(t.messages, f, header_scratch_);
  ++t.count;
  unconfirmed_bytes_ += field;
  auto& targets = t.targets;
  if (target.batch && !targets.empty() && targets.back().batch == target.batch &&
      targets.back().first + targets.back().count == target.first) {
    ++targets.back().count;  // one run per batch and frame, not one entry per message
  } else {
    targets.push_back(std::move(target));
  }
  if (t.messages.size() >= limit) {
    build_frame(t);
  } else if (!t.dirty) {
    t.dirty = true;
    dirty_.push_back(&t);
    if (!flush_posted_) {
      flush_posted_ = true;
      asio::post(c_.executor(), [w = c_.weak_from_this()] {
        if (auto c = w.lock()) c->pub().flush();
      });
    }
  }
  return {};
}

uint32_t publisher::admit_batch(const std::string& topic, const std::shared_ptr<batch_op>& b,
                                uint32_t next) {
  error err;
  topic_state* t = this->topic(topic, err);
  uint32_t i = next;
  for (; i < b->size; ++i) {
    if (t != nullptr && over_limit()) break;
    publish_target target;
    target.batch = b;
    target.first = i;
    if (t != nullptr) err = admit(*t, b->msgs[i], target);
    if (err) {
      batch_fail(*b, i, err, t == nullptr);
      --b->remaining;
    }
  }
  if (i == b->size) {
    b->msgs = {};  // every message is encoded: free the originals
    batch_finish_if_done(c_, b, true);
  }
  return i;
}

void publisher::build_frame(topic_state& t) {
  codec::publish_view head;
  head.topic = t.name;
  if (c_.options().idempotent) {
    head.producer_id = c_.producer_id();
    head.first_sequence = t.next_sequence;
    t.next_sequence += t.count;
  }
  uint64_t id = c_.next_id();
  std::vector<uint8_t> frame;
  codec::append_publish_frame(frame, id, head, wire::as_view(t.messages));
  size_t bytes = t.messages.size();
  std::vector<publish_target> targets = std::move(t.targets);
  t.targets.clear();
  t.messages.clear();  // keeps its capacity for the next frame
  t.count = 0;
  c_.register_op(id, make_publish_op(std::move(frame), bytes, std::move(targets)));
}

void publisher::flush() {
  flush_posted_ = false;
  auto dirty = std::move(dirty_);
  dirty_.clear();
  for (topic_state* t : dirty) {
    t->dirty = false;
    if (t->count > 0) build_frame(*t);
  }
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
      if (topic_state* t = topic(q.topic, err)) err = admit(*t, q.msg, target);
      if (err) complete_later(c_.executor(), std::move(target.single), err, publish_result{});
    }
    queue_.pop_front();
  }
}

void publisher::fail_all(const error& e) {
  for (auto& [name, t] : topics_) {
    auto targets = std::move(t.targets);
    t.targets.clear();
    t.messages.clear();
    t.count = 0;
    t.dirty = false;
    fail_targets(c_, targets, e);
  }
  dirty_.clear();
  auto queue = std::move(queue_);
  queue_.clear();
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
