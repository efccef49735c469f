#include "broker/logs/log_topic.h"

#include <algorithm>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/logs/log_partition.h"
#include "broker/topics/publish_checks.h"
#include "proto/codec/names.h"
#include "storage/record_codec.h"

namespace ferry::broker {
namespace {

constexpr int64_t retention_interval_ms = 1000;

}  // namespace

log_topic::log_topic(std::string name, uint32_t id, v1::TopicOptions options, log_port& port,
                     const loop_clock& clock, const log_settings& settings, log_probe& probe)
    : name_(std::move(name)),
      id_(id),
      options_(std::move(options)),
      port_(port),
      clock_(clock),
      settings_(settings),
      partition_ctx_{name_, id_, options_.fsync() == v1::FSYNC_ALWAYS, port_, settings_, probe},
      publish_rate_(clock.now()),
      publish_bytes_rate_(clock.now()) {
  uint32_t n = std::max<uint32_t>(1, options_.partitions());
  for (uint32_t p = 0; p < n; ++p)
    partitions_.push_back(std::make_unique<log_partition>(partition_ctx_, p));
}

log_topic::~log_topic() = default;

storage::partition_bounds log_topic::bounds(uint32_t p) const {
  return partitions_[p]->bounds();
}

ferry::error log_topic::recover(storage::log_store& store) {
  for (auto& p : partitions_) {
    storage::partition_bounds b;
    std::vector<storage::producer_state> producers;
    if (auto err = store.bounds(p->pid(), b)) return err;
    if (auto err = store.load_producers(p->pid(), producers)) return err;
    int64_t last_ts = 0;
    if (b.next > b.start) {
      std::vector<uint8_t> buf;
      std::vector<storage::stored_record> recs;
      if (auto err = store.read(p->pid(), b.next - 1, 1, 1, buf, recs)) return err;
      if (!recs.empty())
        if (auto r = storage::decode_record(recs[0].value)) last_ts = r->timestamp_ms;
    }
    p->recovered(b, producers, last_ts);
  }
  return {};
}

// ---- publishing ----

namespace {

// The partition of message `i`: explicit, by key hash, or round robin.
uint32_t route(const codec::publish_view& pv, const codec::message_meta& meta, uint32_t count,
               uint32_t& round_robin) {
  if (pv.partition) return *pv.partition;
  if (!meta.key.empty()) return names::partition_for_key(meta.key, count);
  return round_robin++ % count;
}

}  // namespace

ferry::error log_topic::check_publish(const codec::publish_view& pv) const {
  if (pv.partition && !valid_partition(*pv.partition))
    return fail(errc::partition_not_found, "topic " + quoted(name_) + " has partitions 0.." +
                                               std::to_string(partition_count() - 1) + ", not " +
                                               std::to_string(*pv.partition));
  if (!pv.producer_id.empty() && !pv.partition)
    return fail(errc::invalid_argument,
                "idempotent publishing to a log topic needs an explicit partition (sequences are "
                "per partition)");
  return {};
}

void log_topic::publish(publish_request& r, publish_done done) {
  const auto& pv = r.head;
  if (auto err = check_publish(pv)) return done(err, {});
  // Log records held for readers are bounded on their own (log_topics.tail_cache_bytes),
  // so they do not count against the memory topics' high-water mark.
  const bytes_ref buf = adopt_frame(r, nullptr);
  // TopicInfo.messages_published of a log topic: every message of a frame that passed the
  // whole-request checks, refused ones and duplicates included (PROTOCOL.md 9.2, 11).
  published_ += r.messages.size();
  auto job = std::make_shared<publish_job>();
  job->done = std::move(done);
  job->confirm_seconds = &partition_ctx_.probe.confirm_seconds;
  const int n = static_cast<int>(r.messages.size());
  job->ok.mutable_partitions()->Resize(n, 0);
  job->ok.mutable_offsets()->Resize(n, 0);
  const int64_t now = clock_.wall_ms();
  std::vector<bool> touched(partitions_.size(), false);
  for (uint32_t i = 0; i < r.messages.size(); ++i) {
    std::string_view bytes = r.messages[i];
    codec::message_meta meta;
    if (!check_message(i, bytes, settings_.max_message_bytes, now, meta, job->ok)) {
      ++partition_ctx_.probe.records_refused;
      continue;
    }
    uint32_t p = route(pv, meta, partition_count(), round_robin_);
    job->ok.set_partitions(static_cast<int>(i), p);
    auto& part = partition(p);
    if (!part.not_led_here().empty()) {
      ++partition_ctx_.probe.records_refused;
      add_error(job->ok, i, errc::not_leader, part.not_led_here());
      continue;
    }
    const uint64_t seq = pv.producer_id.empty() ? 0 : pv.first_sequence + i;
    if (!pv.producer_id.empty() && !admit_sequence(part, job, i, pv.producer_id, seq)) continue;
    part.add(job, i, bytes, message_ref{buf, pv.topic, bytes, now, 0}, pv.producer_id, seq);
    published_bytes_ += bytes.size();
    touched[p] = true;
  }
  for (uint32_t p = 0; p < partitions_.size(); ++p)
    if (touched[p]) partition(p).kick();
  job->resolve_one();  // routing is done: answer once the writes are
}

bool log_topic::admit_sequence(log_partition& part, const std::shared_ptr<publish_job>& job,
                               uint32_t i, std::string_view producer_id, uint64_t seq) {
  uint64_t expected = 0;
  switch (part.check_sequence(producer_id, seq, expected)) {
    case log_partition::sequence_check::duplicate:
      part.add_duplicate(job, i, producer_id, seq);
      return false;
    case log_partition::sequence_check::gap:
      ++partition_ctx_.probe.records_refused;
      add_error(job->ok, i, errc::sequence_gap,
                "sequence " + std::to_string(seq) + " skips ahead: the partition expects " +
                    std::to_string(expected) + " from producer " + quoted(producer_id));
      return false;
    case log_partition::sequence_check::accept: break;
  }
  return true;
}

// ---- readers ----

ferry::error log_topic::attach(consumer& c, std::span<const v1::PartitionStart> starts,
                               std::vector<v1::PartitionAssignment>& assigned) {
  auto& r = *readers_.emplace_back(std::make_unique<log_reader>(c, *this));
  c.attach_to(&r, &r);
  for (size_t i = 0; i < starts.size(); ++i) {
    const auto& s = starts[i];
    for (size_t j = 0; j < i; ++j) {
      if (starts[j].partition() == s.partition()) {
        detach(c);
        return fail(errc::invalid_argument,
                    "partition " + std::to_string(s.partition()) + " is named twice");
      }
    }
    uint64_t next = 0;
    if (!valid_partition(s.partition())) {
      detach(c);
      return fail(errc::partition_not_found,
                  "topic '" + name_ + "' has no partition " + std::to_string(s.partition()));
    }
    auto b = bounds(s.partition());
    switch (s.start().kind()) {
      case v1::Position::EARLIEST: next = b.start; break;
      case v1::Position::LATEST: next = b.next; break;
      default: next = static_cast<uint64_t>(s.start().value()); break;  // resolved OFFSET
    }
    if (next < b.start || next > b.next) {
      detach(c);
      return fail(errc::offset_out_of_range,
                  "offset " + std::to_string(next) + " of " + name_ + "[" +
                      std::to_string(s.partition()) + "] is outside the retained range [" +
                      std::to_string(b.start) + ", " + std::to_string(b.next) + "]");
    }
    v1::PartitionAssignment a;
    a.set_partition(s.partition());
    a.set_next_offset(next);
    assigned.push_back(a);
  }
  for (const auto& a : assigned)
    (void)add_partition(c, a.partition(), a.next_offset());
  return {};
}

void log_topic::cancel_readers(errc code, std::string_view why) {
  std::vector<consumer*> owners;
  for (auto& r : readers_)
    owners.push_back(&r->owner());
  for (auto* c : owners) {
    detach(*c);
    c->sink().consumer_cancelled(*c, code, why);
  }
}

void log_topic::detach(consumer& c) {
  log_reader* r = c.reader();
  if (r == nullptr) return;
  for (auto& [p, cur] : r->cursors())
    partition(p).remove_reader(*r);
  c.detach_source();
  std::erase_if(readers_, [r](const std::unique_ptr<log_reader>& x) { return x.get() == r; });
}

ferry::error log_topic::add_partition(consumer& c, uint32_t p, uint64_t next) {
  log_reader* r = c.reader();
  if (r == nullptr || !valid_partition(p))
    return fail(errc::partition_not_found, "no such partition");
  bool had = r->cursors().contains(p);
  auto& cur = r->cursors()[p];
  cur.next = next;
  cur.reading = false;
  cur.epoch = r->new_epoch();
  if (had) {
    partition(p).pump(*r);  // already registered: just the new position
  } else {
    partition(p).add_reader(*r);
  }
  return {};
}

void log_topic::remove_partition(consumer& c, uint32_t p) {
  log_reader* r = c.reader();
  if (r == nullptr || !r->cursors().contains(p)) return;
  partition(p).remove_reader(*r);
  r->cursors().erase(p);
}

void log_topic::credit(consumer& c, uint32_t n) {
  c.remove_outstanding(n);
  if (log_reader* r = c.reader())
    for (auto& [p, cur] : r->cursors())
      partition(p).pump(*r);
}

void log_reader::credit(consumer& c, uint32_t n) {
  topic_.credit(c, n);
}

void log_reader::set_prefetch(consumer& c, uint32_t prefetch) {
  c.set_prefetch(prefetch);
  topic_.credit(c, 0);
}

ferry::error log_topic::seek(consumer& c, uint32_t p, uint64_t offset) {
  log_reader* r = c.reader();
  if (r == nullptr || !r->cursors().contains(p))
    return fail(errc::partition_not_found,
                "this consumer does not read partition " + std::to_string(p));
  auto b = bounds(p);
  if (offset < b.start || offset > b.next)
    return fail(errc::offset_out_of_range, "offset " + std::to_string(offset) + " is outside [" +
                                               std::to_string(b.start) + ", " +
                                               std::to_string(b.next) + "]");
  auto& cur = r->cursors()[p];
  cur.next = offset;
  cur.reading = false;
  cur.epoch = r->new_epoch();  // a read under way is for the old position: dropped when it lands
  partition(p).pump(*r);
  return {};
}

void log_topic::resolve(uint32_t p, const v1::Position& pos,
                        std::function<void(ferry::error, uint64_t)> done) {
  if (!valid_partition(p)) {
    done(fail(errc::partition_not_found,
              "topic '" + name_ + "' has no partition " + std::to_string(p)),
         0);
    return;
  }
  auto b = bounds(p);
  switch (pos.kind()) {
    case v1::Position::EARLIEST: done({}, b.start); return;
    case v1::Position::LATEST: done({}, b.next); return;
    case v1::Position::OFFSET: {
      auto off = static_cast<uint64_t>(pos.value());
      if (pos.value() < 0 || off < b.start || off > b.next) {
        done(fail(errc::offset_out_of_range,
                  "offset " + std::to_string(pos.value()) + " of " + name_ + "[" +
                      std::to_string(p) + "] is outside the retained range [" +
                      std::to_string(b.start) + ", " + std::to_string(b.next) + "]"),
             0);
        return;
      }
      done({}, off);
      return;
    }
    case v1::Position::TIME:
      port_.offset_for_time(
          partition(p).pid(), pos.value(),
          [done = std::move(done)](const ferry::error& e, uint64_t off) { done(e, off); });
      return;
    default: done(fail(errc::invalid_argument, "unknown position kind"), 0); return;
  }
}

// ---- timers and introspection ----

void log_topic::on_tick(int64_t steady_now) {
  if (options_.fsync() == v1::FSYNC_INTERVAL && !sync_in_flight_ &&
      steady_now - last_sync_ >= std::max<int64_t>(1, options_.fsync_interval_ms())) {
    last_sync_ = steady_now;
    sync_in_flight_ = true;
    port_.sync_wal(lifetime_.guard([this](const ferry::error& err) {
      sync_in_flight_ = false;
      if (err) log::logs().error("{}: periodic fsync failed: {}", name_, err.to_string());
    }));
  }
  if (retention_in_flight_ == 0 && steady_now - last_retention_ >= retention_interval_ms) {
    last_retention_ = steady_now;
    run_retention();
  }
}

void log_topic::drop_storage() {
  for (auto& p : partitions_)
    port_.drop_partition(p->pid(), [name = name_](const ferry::error& err) {
      if (err) log::logs().error("{}: removing deleted records failed: {}", name, err.to_string());
    });
}

void log_topic::describe(v1::TopicInfo& out) const {
  out.set_name(name_);
  out.set_kind(v1::LOG);
  *out.mutable_options() = options_;
  out.set_topic_id(id_);
  out.set_messages_published(published_);
  out.set_bytes_published(published_bytes_);
  out.set_publish_rate(publish_rate_.sample(clock_.now(), published_));
  out.set_publish_bytes_rate(publish_bytes_rate_.sample(clock_.now(), published_bytes_));
  for (uint32_t p = 0; p < partitions_.size(); ++p) {
    auto b = partitions_[p]->bounds();
    auto* pi = out.add_partitions();
    pi->set_partition(p);
    pi->set_log_start(b.start);
    pi->set_log_end(b.next);
    pi->set_bytes(b.bytes);
  }
}

}  // namespace ferry::broker

namespace ferry::broker {

// Retention: whole prefixes of a partition go in one range delete, found from the byte
// limit (by the average record size) and the time limit (by timestamp, in storage).
void log_topic::run_retention() {
  const int64_t ms =
      options_.retention_ms() == 0 ? settings_.default_retention_ms : options_.retention_ms();
  const int64_t max_bytes = options_.retention_bytes() == 0 ? settings_.default_retention_bytes
                                                            : options_.retention_bytes();
  const int64_t cutoff = clock_.wall_ms() - ms;
  for (uint32_t p = 0; p < partitions_.size(); ++p) {
    auto b = bounds(p);
    if (b.next == b.start) continue;
    const double avg = static_cast<double>(b.bytes) / static_cast<double>(b.next - b.start);
    if (max_bytes > 0 && b.bytes > static_cast<uint64_t>(max_bytes) && avg > 0) {
      auto drop = static_cast<uint64_t>(
          (static_cast<double>(b.bytes) - static_cast<double>(max_bytes)) / avg + 0.999);
      truncate_to(p, b.start + drop, avg);
    }
    if (ms > 0) {
      ++retention_in_flight_;
      port_.offset_for_time(partition(p).pid(), cutoff,
                            lifetime_.guard([this, p, avg](const ferry::error& err, uint64_t off) {
                              --retention_in_flight_;
                              if (!err) truncate_to(p, off, avg);
                            }));
    }
  }
}

void log_topic::truncate_to(uint32_t p, uint64_t new_start, double avg_record_bytes) {
  auto b = bounds(p);
  new_start = std::min(new_start, b.next);
  if (new_start <= b.start) return;
  ++retention_in_flight_;
  port_.truncate_prefix(
      partition(p).pid(), new_start,
      lifetime_.guard([this, p, new_start, avg_record_bytes,
                       start = b.start](const ferry::error& err) {
        --retention_in_flight_;
        if (err) {
          log::logs().error("{}[{}]: retention failed: {}", name_, p, err.to_string());
          return;
        }
        auto removed = static_cast<double>(new_start - start) * avg_record_bytes;
        partition(p).truncated(new_start, static_cast<uint64_t>(removed));
        log::logs().debug("{}[{}]: retention removed offsets [{}, {})", name_, p, start, new_start);
      }));
}

}  // namespace ferry::broker
