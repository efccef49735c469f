// The scheduler's listing and cancelling (scheduler.h): both read storage on the storage
// thread and answer on the loop.
#include <algorithm>
#include <limits>
#include <memory>
#include <vector>

#include "broker/core/clock.h"
#include "broker/core/errors.h"
#include "broker/schedule/schedule_value.h"
#include "broker/schedule/scheduler.h"

namespace ferry::broker {

namespace {

using storage::schedule_key;
namespace value = schedule_value;

constexpr uint32_t default_page = 100;
constexpr uint32_t max_page = 1000;

ferry::error not_an_id(std::string_view field, std::string_view id) {
  return fail(errc::invalid_argument, std::string(field) + " " + quoted(id) +
                                          " is not a scheduled message id (DUE-SEQUENCE)");
}

// The first key after `k`.
schedule_key after(schedule_key k) {
  if (k.seq == std::numeric_limits<uint64_t>::max()) return {k.due_ms + 1, 0};
  return {k.due_ms, k.seq + 1};
}

// What one listing read from storage.
struct page {
  std::vector<storage::schedule_entry> entries;
  bool more = false;
  int64_t first_due = 0;
  ferry::error err;
};

}  // namespace

void scheduler::list(const v1::ListScheduled& req, reply<v1::ScheduledList> done) {
  const uint32_t limit = req.limit() == 0 ? default_page : req.limit();
  if (limit > max_page)
    return done(fail(errc::invalid_argument,
                     "limit " + std::to_string(limit) + " is above " + std::to_string(max_page)),
                {});
  schedule_key from;
  if (!req.after().empty()) {
    if (!value::parse_id(req.after(), from)) return done(not_an_id("after", req.after()), {});
    from = after(from);
  }
  auto p = std::make_shared<page>();
  env_.on_storage([this, p, from, limit, topic = req.topic(), &store = env_.store,
                   to_loop = env_.on_loop, w = lifetime_.watch(), done = std::move(done)] {
    p->err = store.scan_group(topic, from, [&](const schedule_key& k, std::string_view v) {
      if (p->entries.size() == limit) {
        p->more = true;
        return false;
      }
      p->entries.push_back({k, std::string(v), {}});
      return true;
    });
    if (!p->err && from == schedule_key{} && !p->entries.empty()) {
      p->first_due = p->entries.front().key.due_ms;
    } else if (!p->err) {
      p->err = store.scan_group(topic, {}, [&](const schedule_key& k, std::string_view) {
        p->first_due = k.due_ms;
        return false;
      });
    }
    to_loop([this, p, topic, w, done] {
      if (w.expired()) return;
      if (p->err) return done(p->err, {});
      v1::ScheduledList out;
      out.set_topic(topic);
      out.set_waiting(waiting(topic));
      out.set_next_due_ms(p->first_due);
      for (const auto& e : p->entries) {
        value::decoded d;
        if (!value::decode(e.value, d)) continue;
        auto* m = out.add_messages();
        m->set_id(value::id_of(e.key));
        m->set_due_ms(e.key.due_ms);
        if (d.partition) m->set_partition(*d.partition);
        (void)m->mutable_message()->ParseFromArray(d.message.data(),
                                                   static_cast<int>(d.message.size()));
      }
      if (p->more) out.set_next_after(value::id_of(p->entries.back().key));
      done({}, out);
    });
  });
}

void scheduler::cancel(const v1::CancelScheduled& req, reply<v1::CancelScheduledOk> done) {
  schedule_key key;
  if (!value::parse_id(req.id(), key)) return done(not_an_id("id", req.id()), {});
  auto not_found = [id = req.id(), topic = req.topic()](std::string_view why) {
    return fail(errc::scheduled_not_found, "no message " + quoted(id) + " waits for topic " +
                                               quoted(topic) + std::string(why));
  };
  // An entry due by the round being released may be in it (by the round's clock, which a
  // wall clock stepping back cannot undo); a later one cannot be: its erase reaches the
  // storage thread before any later round's scan.
  if (releasing_ && key.due_ms <= std::max(round_now_, env_.clock.wall_ms()))
    return done(not_found(": it is due and being released"), {});
  env_.on_storage([this, key, topic = req.topic(), not_found, &store = env_.store,
                   to_loop = env_.on_loop, w = lifetime_.watch(), done = std::move(done)] {
    std::string v;
    bool found = false;
    auto err = store.get(key, v, found);
    value::decoded d;
    const bool ours = !err && found && value::decode(v, d) && d.topic == topic;
    if (ours) {
      const storage::schedule_ref ref{key, topic};
      err = store.apply({}, std::span(&ref, 1));
    }
    to_loop([this, err, ours, topic, not_found, w, done] {
      if (w.expired()) return;
      if (err) return done(err, {});
      if (!ours) return done(not_found(""), {});
      forget(topic);
      done({}, {});
    });
  });
}

}  // namespace ferry::broker
