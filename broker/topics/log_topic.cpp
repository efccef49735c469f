#include "broker/topics/log_topic.h"

#include <algorithm>

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/topics/log_partition.h"
#include "broker/topics/publish_errors.h"
#include "proto/codec/names.h"
#include "storage/record_codec.h"

namespace ferry::broker {
namespace {

constexpr int64_t retention_interval_ms = 1000;

}  // namespace

log_topic::log_topic(std::string name, uint32_t id, v1::TopicOptions options, log_port& port,
                     const clock& clk, const log_config& cfg)
    : name_(std::move(name)),
      id_(id),
      options_(std::move(options)),
      port_(port),
      clock_(clk),
      cfg_(cfg) {
  uint32_t n = std::max<uint32_t>(1, options_.partitions());
  for (uint32_t p = 0; p < n; ++p)
    partitions_.push_back(std::make_unique<log_partition>(*this, p));
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

void log_topic::publish(const codec::publish_view& pv, std::span<const std::string_view> messages,
                        const bytes_ref& buf, publish_done done) {
  if (pv.partition && !valid_partition(*pv.partition)) {
    done(fail(errc::partition_not_found, "topic '" + name_ + "' has partitions 0.." +
                                             std::to_string(partition_count() - 1) + ", not " +
                                             std::to_string(*pv.partition)),
         {});
    return;
  }
  if (!pv.producer_id.empty() && !pv.partition) {
    done(fail(errc::invalid_argument,
              "idempotent publishing to a log topic needs an explicit partition (sequences are "
              "per partition)"),
         {});
    return;
  }
  // TopicInfo.messages_published of a log topic: every message of a frame that passed the
  // whole-request checks, refused ones and duplicates included (PROTOCOL.md 9.2, 11).
  published_ += messages.size();
  auto job = std::make_shared<publish_job>();
  job->done = std::move(done);
  const int n = static_cast<int>(messages.size());
  job->ok.mutable_partitions()->Resize(n, 0);
  job->ok.mutable_offsets()->Resize(n, 0);
  const int64_t now = clock_.wall_ms();
  std::vector<bool> touched(partitions_.size(), false);
  for (uint32_t i = 0; i < messages.size(); ++i) {
    std::string_view bytes = messages[i];
    if (bytes.size() > cfg_.max_message_bytes) {
      add_error(job->ok, i, errc::message_too_large,
                "message of " + std::to_string(bytes.size()) +
                    " bytes is above max_message_bytes " + std::to_string(cfg_.max_message_bytes));
      continue;
    }
    codec::message_meta meta;
    if (codec::scan_message(bytes, meta) != errc::ok) {
      add_error(job->ok, i, errc::malformed_frame, "message is not a valid ferry.v1.Message");
      continue;
    }
    if (meta.not_before_ms != 0) {
      add_error(job->ok, i, errc::not_supported,
                "delayed delivery (not_before_ms) is not available in this version of ferryd");
      continue;
    }
    uint32_t p = pv.partition        ? *pv.partition
                 : !meta.key.empty() ? names::partition_for_key(meta.key, partition_count())
                                     : round_robin_++ % partition_count();
    job->ok.set_partitions(static_cast<int>(i), p);
    auto& part = partition(p);
    if (!pv.producer_id.empty()) {
      uint64_t seq = pv.first_sequence + i, expected = 0;
      switch (part.check_sequence(pv.producer_id, seq, expected)) {
        case log_partition::sequence_check::duplicate:
          part.add_duplicate(job, i, pv.producer_id, seq);
          continue;
        case log_partition::sequence_check::gap:
          add_error(job->ok, i, errc::sequence_gap,
                    "sequence " + std::to_string(seq) + " skips ahead: the partition expects " +
                        std::to_string(expected) + " from producer '" +
                        std::string(pv.producer_id) + "'");
          continue;
        case log_partition::sequence_check::accept: break;
      }
    }
    message_ref ref{buf, pv.topic, bytes, now, 0};
    part.add(job, i, bytes, ref, pv.producer_id,
             pv.producer_id.empty() ? 0 : pv.first_sequence + i);
    touched[p] = true;
  }
  for (uint32_t p = 0; p < partitions_.size(); ++p)
    if (touched[p]) partition(p).kick();

  job->resolve_one();  // routing is done: answer once the writes are
}

// ---- readers ----

ferry::error log_topic::attach(consumer& c, std::span<const v1::PartitionStart> starts,
                               std::vector<v1::PartitionAssignment>& assigned) {
  auto* r = new log_reader(c, *this);
  c.set_reader(r);
  readers_.push_back(r);
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
  for (auto* r : readers_)
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
  std::erase(readers_, r);
  c.set_reader(nullptr);
  delete r;
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
    port_.sync_wal([this, alive = std::weak_ptr<bool>(alive_)](const ferry::error& err) {
      if (alive.expired()) return;
      sync_in_flight_ = false;
      if (err) log::topics().error("{}: periodic fsync failed: {}", name_, err.to_string());
    });
  }
  if (retention_in_flight_ == 0 && steady_now - last_retention_ >= retention_interval_ms) {
    last_retention_ = steady_now;
    run_retention();
  }
}

void log_topic::drop_storage() {
  for (auto& p : partitions_)
    port_.drop_partition(p->pid(), [name = name_](const ferry::error& err) {
      if (err)
        log::topics().error("{}: removing deleted records failed: {}", name, err.to_string());
    });
}

void log_topic::describe(v1::TopicInfo& out) const {
  out.set_name(name_);
  out.set_kind(v1::LOG);
  *out.mutable_options() = options_;
  out.set_messages_published(published_);
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
      options_.retention_ms() == 0 ? cfg_.default_retention_ms : options_.retention_ms();
  const int64_t max_bytes =
      options_.retention_bytes() == 0 ? cfg_.default_retention_bytes : options_.retention_bytes();
  const int64_t cutoff = clock_.wall_ms() - ms;
  for (uint32_t p = 0; p < partitions_.size(); ++p) {
    auto b = bounds(p);
    if (b.next == b.start) continue;
    const double avg = static_cast<double>(b.bytes) / static_cast<double>(b.next - b.start);
    auto truncate = [this, p, avg, alive = std::weak_ptr<bool>(alive_)](uint64_t new_start) {
      auto bb = bounds(p);
      new_start = std::min(new_start, bb.next);
      if (new_start <= bb.start) return;
      ++retention_in_flight_;
      port_.truncate_prefix(
          partition(p).pid(), new_start,
          [this, p, new_start, avg, start = bb.start, alive](const ferry::error& err) {
            if (alive.expired()) return;
            --retention_in_flight_;
            if (err) {
              log::topics().error("{}[{}]: retention failed: {}", name_, p, err.to_string());
              return;
            }
            partition(p).truncated(
                new_start, static_cast<uint64_t>(avg * static_cast<double>(new_start - start)));
            log::topics().debug("{}[{}]: retention removed offsets [{}, {})", name_, p, start,
                                new_start);
          });
    };
    if (max_bytes > 0 && b.bytes > static_cast<uint64_t>(max_bytes) && avg > 0) {
      auto drop = static_cast<uint64_t>(
          (static_cast<double>(b.bytes) - static_cast<double>(max_bytes)) / avg + 0.999);
      truncate(b.start + drop);
    }
    if (ms > 0) {
      ++retention_in_flight_;
      port_.offset_for_time(partition(p).pid(), cutoff,
                            [this, truncate, alive = std::weak_ptr<bool>(alive_)](
                                const ferry::error& err, uint64_t off) {
                              if (alive.expired()) return;
                              --retention_in_flight_;
                              if (!err) truncate(off);
                            });
    }
  }
}

}  // namespace ferry::broker
