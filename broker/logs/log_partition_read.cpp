// log_partition: the read path (tail cache, storage reads, delivery within credit).
#include <algorithm>
#include <cstring>

#include "broker/core/log.h"
#include "broker/logs/log_partition.h"
#include "storage/record_codec.h"

namespace ferry::broker {

void log_partition::add_reader(log_reader& r) {
  readers_.push_back(&r);
  pump(r);
}

void log_partition::remove_reader(log_reader& r) {
  std::erase(readers_, &r);
}

void log_partition::wake_readers() {
  // A copy: delivering may not change the list, but be safe against future callers.
  auto readers = readers_;
  for (auto* r : readers)
    pump(*r);
}

void log_partition::truncated(uint64_t new_start, uint64_t bytes_removed) {
  if (new_start <= start_) return;
  start_ = new_start;
  bytes_ -= std::min(bytes_, bytes_removed);
  while (!tail_.empty() && tail_.front().offset < start_) {
    tail_bytes_ -= tail_.front().ref.size();
    tail_.pop_front();
  }
  wake_readers();  // readers behind the new start move up to it
}

void log_partition::deliver(log_reader& r, log_reader::cursor& cur, const message_ref& ref,
                            uint64_t offset) {
  consumer& c = r.owner();
  c.add_outstanding(1);
  ++ctx_.probe.records_read;
  c.sink().deliver(c, ref, delivery_meta{offset, 1, index_, offset, true});
  cur.next = offset + 1;
}

void log_partition::pump(log_reader& r) {
  auto it = r.cursors().find(index_);
  if (it == r.cursors().end()) return;
  auto& cur = it->second;
  consumer& c = r.owner();
  if (cur.next < start_) cur.next = start_;  // retention passed it: resume at the start
  while (c.has_credit() && cur.next < durable_ && !cur.reading) {
    if (!tail_.empty() && cur.next >= tail_.front().offset) {
      const auto& rec = tail_[cur.next - tail_.front().offset];
      deliver(r, cur, rec.ref, rec.offset);
      continue;
    }
    start_read(r, cur);
  }
}

void log_partition::start_read(log_reader& r, log_reader::cursor& cur) {
  consumer& c = r.owner();
  size_t credit = c.prefetch() - std::min(c.prefetch(), c.outstanding());
  // Stop at the tail cache: from there the cache serves.
  uint64_t until = tail_.empty() ? durable_ : tail_.front().offset;
  size_t max_records = static_cast<size_t>(std::min<uint64_t>(credit, until - cur.next));
  cur.reading = true;
  ++ctx_.probe.storage_reads;
  uint64_t from = cur.next, epoch = cur.epoch;
  ctx_.port.read(pid(), from, max_records, ctx_.settings.read_batch_bytes,
                 lifetime_.guard([this, reader = r.lifetime().watch(), &r, epoch,
                                  from](log_port::read_result&& res) {
                   if (!reader.expired()) read_done(r, epoch, from, std::move(res));
                 }));
}

void log_partition::read_done(log_reader& r, uint64_t epoch, uint64_t from,
                              log_port::read_result&& res) {
  auto it = r.cursors().find(index_);
  if (it == r.cursors().end()) return;  // the partition was taken from this reader
  auto& cur = it->second;
  if (cur.epoch != epoch) return;  // seeked meanwhile: this read is stale
  cur.reading = false;
  if (res.err) {
    if (from < start_) {
      // Retention removed these records after the read was asked for (storage ran the
      // truncation first; truncated() found the read under way): go on from the start.
      pump(r);
      return;
    }
    log::logs().error("{}[{}]: read at offset {} failed: {}", ctx_.topic_name, index_, from,
                      res.err.to_string());
    return;  // the next credit or write retries
  }
  if (!res.records.empty() && cur.next == from) {
    // One buffer for the whole read: the topic name, then the stored values.
    const std::string& name = ctx_.topic_name;
    bytes_ref buf(shared_bytes::allocate(name.size() + res.buffer.size(), nullptr));
    std::memcpy(buf.get()->data(), name.data(), name.size());
    if (!res.buffer.empty())
      std::memcpy(buf.get()->data() + name.size(), res.buffer.data(), res.buffer.size());
    std::string_view base = buf.get()->view();
    std::string_view topic = base.substr(0, name.size());
    const char* src = reinterpret_cast<const char*>(res.buffer.data());
    for (const auto& rec : res.records) {
      if (rec.offset != cur.next) break;  // never out of order
      auto decoded = storage::decode_record(rec.value);
      if (!decoded) {
        // Corrupt on disk: it cannot be delivered, and re-reading it would loop forever.
        log::logs().error("{}[{}]: unreadable record at offset {} skipped", ctx_.topic_name, index_,
                          rec.offset);
        cur.next = rec.offset + 1;
        continue;
      }
      std::string_view msg =
          base.substr(name.size() + (decoded->message.data() - src), decoded->message.size());
      deliver(r, cur, message_ref{buf, topic, msg, decoded->timestamp_ms, 0}, rec.offset);
    }
  }
  pump(r);
}

}  // namespace ferry::broker
