// log_reader: attaching readers (and re-attaching them after a reconnect), the delivery
// path, seeks and closing. Groups, commits and the keepalive are in log_group.cpp.
#include "client/src/log_reader.h"

#include <algorithm>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/consume.pb.h"
#include "ferry/v1/log.pb.h"

#include "client/src/log_reader.h"
#include "proto/codec/names.h"

namespace ferry::client::detail {

log_reader::log_reader(link& c)
    : c_(c), commit_timer_(c.executor()), keepalive_timer_(c.executor()) {}

// Records of the old position may still come after SeekOk (the broker writes responses
// before the deliveries it batched in the same turn), but all of them before the first
// record of the new position. So after a seek to X everything is dropped until a record
// at X comes: an old record at X is the same record, and what follows it is too.
// Outside seeks, offsets only grow (by more than one when retention passed the reader).
bool log_reader::accept(log_partition_state& p, uint64_t offset) {
  if (p.after_seek) {
    if (offset != p.next) return false;
    p.after_seek = false;
    return true;
  }
  return offset >= p.next;
}

bool log_reader::live(const log_consumer_state& s) const {
  return attached(c_, s);
}

void log_reader::consume(std::shared_ptr<log_consumer_state> s, handler<log_consumer> h) {
  error e;
  if (c_.closed())
    e = make_error(errc::disconnected, "client closed");
  else if (std::string why = names::check_name(s->opts.topic); !why.empty())
    e = make_error(errc::invalid_name, "topic name '" + s->opts.topic + "': " + why);
  if (e) {
    complete_later(s->ex, std::move(h), e, log_consumer{});
    return;
  }
  if (s->opts.partitions.empty() && s->opts.group.empty())
    describe_then_consume(s, std::move(h), false);
  else
    send_consume(s, std::move(h));
}

// Every partition: their number comes from DescribeTopic. On a resume (`resume`), the
// reader's positions are clamped into the retained ranges instead (its offsets fell out
// of retention while it was away).
void log_reader::describe_then_consume(const std::shared_ptr<log_consumer_state>& s,
                                       handler<log_consumer> h, bool resume) {
  auto req = std::make_shared<v1::DescribeTopic>();
  req->set_name(s->opts.topic);
  auto info = std::make_shared<v1::TopicInfo>();
  c_.send_request(
      codec::body::describe_topic, req, codec::body::topic_info, info,
      [this, alive = lifetime_.watch(), s, info, h = std::move(h), resume](error e) mutable {
        if (!alive.expired()) on_described(s, e, *info, std::move(h), resume);
      });
}

void log_reader::on_described(const std::shared_ptr<log_consumer_state>& s, const error& e,
                              const v1::TopicInfo& info, handler<log_consumer> h, bool resume) {
  error err = e;
  if (!err && info.kind() != v1::LOG)
    err = make_error(errc::wrong_topic_kind,
                     "topic '" + s->opts.topic + "' is a memory topic: subscribe to it instead");
  if (resume) {
    if (s->closed) return;
    if (err) {
      if (err.code == errc::disconnected || err.code == errc::timeout) return;  // next reconnect
      forget(s);
      mark_closed(s, err);
      return;
    }
    for (const auto& pi : info.partitions()) {
      auto it = s->parts.find(pi.partition());
      if (it != s->parts.end())
        it->second.next = std::clamp(it->second.next, pi.log_start(), pi.log_end());
    }
    send_consume(s, {});
    return;
  }
  if (err) {
    complete(s->ex, std::move(h), err, log_consumer{});
    return;
  }
  auto n = static_cast<uint32_t>(info.partitions_size());
  for (uint32_t p = 0; p < std::max<uint32_t>(n, 1); ++p)
    s->opts.partitions.emplace_back(p, s->opts.default_start);
  send_consume(s, std::move(h));
}

// `h` is empty when re-attaching after a reconnect.
void log_reader::send_consume(const std::shared_ptr<log_consumer_state>& s,
                              handler<log_consumer> h) {
  auto req = std::make_shared<v1::ConsumeLog>();
  req->set_topic(s->opts.topic);
  req->set_credit(s->opts.credit);
  if (s->member()) {
    req->set_group(s->opts.group);
    *req->mutable_default_start() = s->opts.default_start;
    req->set_session_timeout_ms(
        static_cast<uint32_t>(std::clamp<int64_t>(s->opts.session_timeout.count(), 0, UINT32_MAX)));
  } else {
    for (const auto& [p, pos] : s->opts.partitions) {
      auto* ps = req->add_partitions();
      ps->set_partition(p);
      auto it = s->parts.find(p);
      if (!h && it != s->parts.end())
        *ps->mutable_start() = position::offset(it->second.next);  // after the last delivery
      else
        *ps->mutable_start() = pos;
    }
  }
  auto ok = std::make_shared<v1::ConsumeLogOk>();
  c_.send_request(codec::body::consume_log, req, codec::body::consume_log_ok, ok,
                  [this, alive = lifetime_.watch(), s, ok, h = std::move(h)](error e) mutable {
                    if (!alive.expired()) on_consumed(s, e, *ok, std::move(h));
                  });
}

void log_reader::on_consumed(const std::shared_ptr<log_consumer_state>& s, const error& e,
                             const v1::ConsumeLogOk& ok, handler<log_consumer> h) {
  if (e) {
    if (h) {
      complete(s->ex, std::move(h), e, log_consumer{});
    } else if (s->closed || e.code == errc::disconnected || e.code == errc::timeout) {
      // Closed meanwhile, or the next reconnect attaches it again.
    } else if (e.code == errc::offset_out_of_range && !s->member()) {
      describe_then_consume(s, {}, true);
    } else {
      forget(s);  // refused (e.g. the topic was deleted meanwhile)
      mark_closed(s, e);
    }
    return;
  }
  if (s->closed) {  // closed while its attach was under way
    auto req = std::make_shared<v1::Unsubscribe>();
    req->set_consumer_id(ok.consumer_id());
    c_.send_request(codec::body::unsubscribe, req, codec::body::unsubscribe_ok,
                    std::make_shared<v1::UnsubscribeOk>(), [](error) {});
    return;
  }
  table_.bind(s, ok.consumer_id(), c_.epoch());
  std::vector<uint32_t> assigned;
  if (s->member()) {
    s->member_id = ok.member_id();
    s->generation = ok.generation();
    s->parts.clear();
  }
  for (const auto& a : ok.assigned()) {
    auto [it, fresh] = s->parts.try_emplace(a.partition());
    auto& p = it->second;
    p.next = a.next_offset();
    if (fresh) p.processed = p.committed = p.next;
    p.seeks = 0;
    p.after_seek = false;
    p.held.clear();
    if (s->member()) assigned.push_back(a.partition());
  }
  if (h) {
    table_.keep(s);
    arm_auto_commit(s);
  }
  update_keepalive();
  if (!assigned.empty() && s->opts.on_assigned) s->opts.on_assigned(assigned);
  if (h) complete(s->ex, std::move(h), error{}, log_consumer(s));
}

// Calls the handler for each delivery of partitions the reader still has, in order, then
// returns credit. The handler may seek, close the reader or the client.
bool log_reader::on_deliver(const std::shared_ptr<const std::vector<uint8_t>>& frame,
                            uint64_t consumer_id, const std::vector<codec::delivery_view>& views) {
  std::shared_ptr<log_consumer_state> s = table_.find(consumer_id);
  if (!s) return false;
  uint64_t epoch = c_.epoch();
  uint32_t handled = 0, dropped = 0;
  for (const auto& v : views) {
    if (s->closed || s->epoch != epoch) break;
    auto pit = s->parts.find(v.partition);
    if (pit == s->parts.end() || pit->second.revoked) {
      ++dropped;  // revoked: the broker stopped after what was already on its way
      continue;
    }
    auto& p = pit->second;
    if (p.seeks > 0) {
      p.held.push_back({frame, v});
      continue;
    }
    if (!accept(p, v.offset)) {
      ++dropped;  // from before a seek
      continue;
    }
    hand_over(s, frame, v, epoch);
    ++handled;
  }
  credit(s, epoch, dropped + (s->manual_credit ? 0 : handled));
  return true;
}

void log_reader::hand_over(const std::shared_ptr<log_consumer_state>& s,
                           const std::shared_ptr<const std::vector<uint8_t>>& frame,
                           const codec::delivery_view& v, uint64_t epoch) {
  s->parts[v.partition].next = v.offset + 1;  // above `next` after retention moved the start
  codec::message_fields fields;
  // The broker checked the message when it was published (scan_message).
  if (codec::parse_message(v.message, fields, nullptr) != errc::ok) fields = {};
  if (s->on_delivery) s->on_delivery(delivery(frame, s->broker_id, v, fields, epoch));
  if (s->manual_processed || s->epoch != epoch) return;
  auto it = s->parts.find(v.partition);
  if (it != s->parts.end() && !it->second.revoked) it->second.processed = v.offset + 1;
}

void log_reader::credit(const std::shared_ptr<log_consumer_state>& s, uint64_t epoch, uint32_t n) {
  send_credit(c_, *s, epoch, n);
}

void log_reader::grant_credit(const std::shared_ptr<log_consumer_state>& s, uint64_t epoch,
                              uint32_t n) {
  credit(s, epoch, n);
}

void log_reader::mark_processed(const std::shared_ptr<log_consumer_state>& s, uint32_t partition,
                                uint64_t next) {
  auto it = s->parts.find(partition);
  if (it != s->parts.end() && !it->second.revoked)
    it->second.processed = std::max(it->second.processed, next);
}

void log_reader::seek(const std::shared_ptr<log_consumer_state>& s, uint32_t partition,
                      const v1::Position& position, handler<uint64_t> h) {
  error e;
  auto it = s->parts.find(partition);
  if (s->closed)
    e = make_error(errc::unknown_consumer, "the reader is closed");
  else if (!live(*s))
    e = make_error(errc::disconnected, "not connected; seek after the reader is attached again");
  else if (it == s->parts.end() || it->second.revoked)
    e = make_error(errc::partition_not_found,
                   "this reader does not read partition " + std::to_string(partition));
  if (e) {
    complete_later(s->ex, std::move(h), e, uint64_t{0});
    return;
  }
  ++it->second.seeks;
  auto req = std::make_shared<v1::Seek>();
  req->set_consumer_id(s->broker_id);
  req->set_partition(partition);
  *req->mutable_position() = position;
  auto ok = std::make_shared<v1::SeekOk>();
  c_.send_request(codec::body::seek, req, codec::body::seek_ok, ok,
                  [this, alive = lifetime_.watch(), s, partition, epoch = s->epoch, ok,
                   h = std::move(h)](error err) mutable {
                    if (!alive.expired())
                      on_seek(s, partition, epoch, err, ok->next_offset(), std::move(h));
                  });
}

void log_reader::on_seek(const std::shared_ptr<log_consumer_state>& s, uint32_t partition,
                         uint64_t epoch, const error& e, uint64_t next, handler<uint64_t> h) {
  if (s->closed || s->epoch != epoch) {  // closed, or re-attached at its old position
    error why = e ? e : make_error(errc::disconnected, "the reader was re-attached meanwhile");
    complete(s->ex, std::move(h), why, uint64_t{0});
    return;
  }
  auto it = s->parts.find(partition);
  if (it == s->parts.end()) {  // revoked meanwhile
    complete(s->ex, std::move(h), e, next);
    return;
  }
  auto& p = it->second;
  if (p.seeks > 0) --p.seeks;
  if (!e) {
    p.next = p.processed = next;
    p.after_seek = true;
    if (s->on_drop) s->on_drop({partition});  // what the facade queued is from before
  }
  if (p.seeks == 0) release_held(s, partition);
  complete(s->ex, std::move(h), e, e ? uint64_t{0} : next);
}

void log_reader::release_held(const std::shared_ptr<log_consumer_state>& s, uint32_t partition) {
  auto held = std::move(s->parts[partition].held);
  s->parts[partition].held.clear();
  uint64_t epoch = s->epoch;
  uint32_t handled = 0, dropped = 0;
  for (size_t i = 0; i < held.size(); ++i) {
    const auto& v = held[i].view;
    auto it = s->parts.find(partition);
    if (s->closed || s->epoch != epoch || it == s->parts.end() || it->second.revoked) break;
    if (it->second.seeks > 0) {  // the handler seeks again: hold the rest
      for (; i < held.size(); ++i)
        it->second.held.push_back(std::move(held[i]));
      break;
    }
    if (!accept(it->second, v.offset)) {
      ++dropped;
      continue;
    }
    hand_over(s, held[i].frame, v, epoch);
    ++handled;
  }
  credit(s, epoch, dropped + (s->manual_credit ? 0 : handled));
}

void log_reader::close(const std::shared_ptr<log_consumer_state>& s, void_handler h) {
  if (s->closed) {
    complete_later(s->ex, std::move(h), error{});
    return;
  }
  bool was_live = live(*s);
  s->closed = true;  // no more deliveries reach the handler
  uint64_t cid = s->broker_id;
  partition_offsets offsets;
  // A member commits only while it is one; an unfenced commit may wait for a reconnect.
  if (s->opts.auto_commit && s->commits() && (was_live || !s->member())) offsets = advanced(*s);
  if (offsets.empty()) {
    finish_close(s, cid, was_live, {}, std::move(h));
    return;
  }
  send_commit(
      s, std::move(offsets),
      [this, alive = lifetime_.watch(), s, cid, was_live, h = std::move(h)](error e) mutable {
        if (!alive.expired())
          finish_close(s, cid, was_live, e, std::move(h));
        else
          complete(s->ex, std::move(h), e);
      });
}

void log_reader::finish_close(const std::shared_ptr<log_consumer_state>& s, uint64_t consumer_id,
                              bool unsubscribe, const error& commit_error, void_handler h) {
  forget(s);
  mark_closed(s, error{});
  update_keepalive();
  if (!unsubscribe || !c_.connected() || s->epoch != c_.epoch()) {
    complete(s->ex, std::move(h), commit_error);
    return;
  }
  auto req = std::make_shared<v1::Unsubscribe>();
  req->set_consumer_id(consumer_id);
  c_.send_request(codec::body::unsubscribe, req, codec::body::unsubscribe_ok,
                  std::make_shared<v1::UnsubscribeOk>(),
                  [ex = s->ex, commit_error, h = std::move(h)](error e) mutable {
                    // Gone already (e.g. the broker cancelled it) is closed all the same.
                    if (e.code == errc::unknown_consumer || e.code == errc::disconnected) e = {};
                    complete(ex, std::move(h), commit_error ? commit_error : e);
                  });
}

bool log_reader::on_cancelled(uint64_t consumer_id, const error& e) {
  auto s = table_.find(consumer_id);
  if (!s) return false;
  forget(s);
  mark_closed(s, e);
  update_keepalive();
  return true;
}

void log_reader::on_connected() {
  table_.reattach([this](const std::shared_ptr<log_consumer_state>& s) { send_consume(s, {}); });
}

// A manual reader keeps its positions; a member loses its partitions at once (the group
// hands them to others), which on_revoked learns. Held deliveries are of the old
// connection: the new one starts after the last delivery handed over.
void log_reader::on_disconnected() {
  table_.detach_all();
  auto list = table_.kept();  // a copy: on_revoked may close readers
  for (auto& s : list) {
    for (auto& [p, st] : s->parts) {
      st.seeks = 0;
      st.after_seek = false;
      st.held.clear();
    }
    if (!s->member() || s->parts.empty()) continue;
    std::vector<uint32_t> lost;
    for (auto& [p, st] : s->parts)
      lost.push_back(p);
    s->parts.clear();
    if (s->on_drop) s->on_drop(lost);
    if (s->opts.on_revoked && !s->closed) s->opts.on_revoked(lost);
  }
}

void log_reader::fail_all(const error& e) {
  std::vector<std::shared_ptr<log_consumer_state>> all = table_.take_all();
  keepalive_ = {};
  ++keepalive_generation_;
  keepalive_timer_.cancel();
  ++commit_generation_;
  commit_timer_.cancel();
  for (auto& s : all)
    mark_closed(s, e);
}

void log_reader::mark_closed(const std::shared_ptr<log_consumer_state>& s, const error& e) {
  if (s->done) return;
  s->done = s->closed = true;
  for (auto& [p, st] : s->parts)
    st.held.clear();
  if (s->on_closed) {
    auto fn = std::move(s->on_closed);
    s->on_closed = nullptr;
    fn(e);
  }
}

void log_reader::forget(const std::shared_ptr<log_consumer_state>& s) {
  table_.forget(s);
}

}  // namespace ferry::client::detail
