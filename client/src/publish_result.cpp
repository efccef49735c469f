// The life of one Publish frame after it is built: a pending_op resent unchanged after a
// reconnect, and the mapping of its PublishOk (or Error) onto the publishes it carried.
//
// Duplicates: PublishOk only counts them, so a message is reported duplicate=true when
// the whole frame was duplicates (accepted == 0, duplicates > 0), which includes every
// single-message frame that was a duplicate. In a mixed frame no message is marked.
// A batch that filled a frame alone takes the frame's counts as they are. A log topic
// reports a duplicate of a batch older than it remembers as an errors[] entry with code
// OK: a duplicate without an offset, not a failure.
#include <algorithm>

#include "ferry/v1/publish.pb.h"

#include "client/src/publisher.h"

namespace ferry::client::detail {

namespace {

// Where message `index` of a frame finds its partition and offset in PublishOk:
// one entry per message (as the protocol says), or, tolerated, per accepted message.
class positions {
 public:
  positions(const v1::PublishOk& ok, uint32_t count, const std::vector<error>& errs)
      : ok_(ok), errs_(errs) {
    auto n = static_cast<uint32_t>(std::min(ok.partitions_size(), ok.offsets_size()));
    auto failed = static_cast<uint32_t>(ok.errors_size());
    if (n == 0)
      mode_ = none;
    else if (n == count)
      mode_ = per_message;
    else if (n + failed == count)
      mode_ = per_success;
    else
      mode_ = none;
  }
  bool get(uint32_t index, uint32_t& partition, uint64_t& offset) const {
    if (mode_ == none) return false;
    uint32_t slot = index;
    if (mode_ == per_success) {
      for (uint32_t i = 0; i < index && i < errs_.size(); ++i)
        slot -= errs_[i] ? 1 : 0;
    }
    partition = ok_.partitions(static_cast<int>(slot));
    offset = ok_.offsets(static_cast<int>(slot));
    return true;
  }

 private:
  enum { none, per_message, per_success } mode_;
  const v1::PublishOk& ok_;
  const std::vector<error>& errs_;
};

void report_batch_run(link& c, const publish_target& t, const v1::PublishOk& ok,
                      const positions& pos, const std::vector<error>& errs,
                      const std::vector<bool>& offset_unknown, uint32_t base, bool alone) {
  batch_op& b = *t.batch;
  bool all_dups = ok.accepted() == 0 && ok.duplicates() > 0;
  uint32_t successes = 0, old_dups = 0;
  for (uint32_t i = 0; i < t.count; ++i) {
    uint32_t idx = base + i;
    if (idx < errs.size() && errs[idx]) {
      batch_fail(b, t.first + i, errs[idx], false);
      continue;
    }
    if (idx < offset_unknown.size() && offset_unknown[idx])
      ++old_dups;
    else
      ++successes;
    uint32_t partition = 0;
    uint64_t offset = 0;
    if (pos.get(idx, partition, offset)) {
      if (b.result.partitions.empty()) {
        b.result.partitions.resize(b.size);
        b.result.offsets.resize(b.size);
      }
      b.result.partitions[t.first + i] = partition;
      b.result.offsets[t.first + i] = offset;
    }
  }
  if (alone) {
    b.result.accepted += ok.accepted();
    b.result.duplicates += ok.duplicates();
  } else if (all_dups) {
    b.result.duplicates += successes + old_dups;
  } else {
    b.result.accepted += successes;
    b.result.duplicates += old_dups;
  }
  b.result.subscriptions = std::max(b.result.subscriptions, ok.subscriptions());
  b.remaining -= t.count;
  batch_finish_if_done(c, t.batch, false);
}

void report(link& c, std::vector<publish_target>& targets, const v1::PublishOk& ok) {
  uint32_t total = 0;
  for (const auto& t : targets)
    total += t.count;
  std::vector<error> errs;           // by message index; empty when nothing failed
  std::vector<bool> offset_unknown;  // duplicates whose original offset is unknown
  if (ok.errors_size() > 0) {
    errs.resize(total);
    offset_unknown.resize(total);
    for (const auto& me : ok.errors()) {
      if (me.index() >= total) continue;
      if (me.code() == v1::OK)
        offset_unknown[me.index()] = true;
      else
        errs[me.index()] = error{make_error_code(errc_from_wire(me.code())), me.message()};
    }
  }
  positions pos(ok, total, errs);
  bool all_dups = ok.accepted() == 0 && ok.duplicates() > 0;
  bool alone = targets.size() == 1 && targets[0].batch != nullptr;
  uint32_t idx = 0;
  for (auto& t : targets) {
    if (t.batch) {
      report_batch_run(c, t, ok, pos, errs, offset_unknown, idx, alone);
      idx += t.count;
      continue;
    }
    if (idx < errs.size() && errs[idx]) {
      complete(c.executor(), std::move(t.single), errs[idx], publish_result{});
    } else {
      publish_result r;
      r.subscriptions = ok.subscriptions();
      r.has_offset = pos.get(idx, r.partition, r.offset);
      if (static_cast<int>(idx) < ok.scheduled_ids_size()) r.scheduled_id = ok.scheduled_ids(idx);
      if (idx < offset_unknown.size() && offset_unknown[idx]) {
        r.duplicate = true;
        r.has_offset = false;
        r.offset = 0;
      } else {
        r.duplicate = all_dups;
      }
      complete(c.executor(), std::move(t.single), error{}, r);
    }
    ++idx;
  }
}

// What the lane learns from an answer: whether the broker recorded every sequence, and
// whether the topic may have changed under the client.
frame_outcome outcome_of(const error& whole, const v1::PublishOk* ok) {
  if (whole) {
    auto code = errc_of(whole.code);
    if (whole.code.category() == ferry_category() &&
        (code == errc::topic_not_found || code == errc::partition_not_found ||
         code == errc::wrong_topic_kind || code == errc::invalid_argument))
      return frame_outcome::refresh;
    return frame_outcome::failed;
  }
  for (const auto& me : ok->errors())
    if (me.code() != v1::OK) return frame_outcome::failed;
  return frame_outcome::ok;
}

class publish_frame_op final : public pending_op {
 public:
  publish_frame_op(publisher& pub, std::vector<uint8_t> frame, size_t message_bytes,
                   std::vector<publish_target> targets, lane& l, uint32_t epoch)
      : pub_(pub),
        frame_(std::move(frame)),
        message_bytes_(message_bytes),
        targets_(std::move(targets)),
        lane_(l),
        epoch_(epoch) {}

  void write(std::vector<uint8_t>& out, uint64_t) override {
    reserve_more(out, frame_.size());
    out.insert(out.end(), frame_.begin(), frame_.end());
  }
  bool resend() const override { return true; }
  size_t frame_bytes() const override { return frame_.size(); }

  // The lane's bookkeeping first: handlers completed inline may publish again.
  void on_response(link& c, const codec::frame_view& f) override {
    pub_.release(message_bytes_);
    v1::PublishOk ok;
    error whole;
    if (f.kind == codec::body::publish_ok) {
      if (!ok.ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size())))
        whole = make_error(errc::malformed_frame, "unparsable PublishOk");
    } else if (f.kind == codec::body::error) {
      whole = error_from_body(f.bytes);
    } else {
      whole = make_error(errc::internal, "unexpected response to Publish");
    }
    pub_.frame_done(lane_, epoch_, outcome_of(whole, &ok), true);
    if (whole)
      fail_targets(c, targets_, whole);
    else
      report(c, targets_, ok);
  }

  void on_failure(link& c, const error& e) override {
    pub_.release(message_bytes_);
    pub_.frame_done(lane_, epoch_, frame_outcome::failed, false);
    fail_targets(c, targets_, e);
  }

 private:
  publisher& pub_;              // lives as long as the client
  std::vector<uint8_t> frame_;  // whole frame with its correlation id, for resending
  size_t message_bytes_;
  std::vector<publish_target> targets_;
  lane& lane_;  // lanes live as long as the client
  uint32_t epoch_;
};

}  // namespace

std::unique_ptr<pending_op> make_publish_op(publisher& pub, std::vector<uint8_t> frame,
                                            size_t message_bytes,
                                            std::vector<publish_target> targets, lane& l,
                                            uint32_t epoch) {
  return std::make_unique<publish_frame_op>(pub, std::move(frame), message_bytes,
                                            std::move(targets), l, epoch);
}

void fail_targets(link& c, std::vector<publish_target>& targets, const error& e) {
  for (auto& t : targets) {
    if (t.batch) {
      for (uint32_t i = 0; i < t.count; ++i)
        batch_fail(*t.batch, t.first + i, e, true);
      t.batch->remaining -= t.count;
      batch_finish_if_done(c, t.batch, false);
    } else {
      complete(c.executor(), std::move(t.single), e, publish_result{});
    }
  }
}

void batch_fail(batch_op& b, uint32_t index, const error& e, bool whole) {
  b.result.failures.emplace_back(index, e);
  if (whole) {
    if (b.whole_failures == 0) b.first_error = e;
    ++b.whole_failures;
  }
}

void batch_finish_if_done(link& c, const std::shared_ptr<batch_op>& b, bool later) {
  if (b->remaining != 0 || !b->h) return;
  auto& f = b->result.failures;
  std::sort(f.begin(), f.end(), [](const auto& x, const auto& y) { return x.first < y.first; });
  error e = b->whole_failures == b->size ? b->first_error : error{};
  auto h = std::move(b->h);
  if (later)
    complete_later(c.executor(), std::move(h), std::move(e), std::move(b->result));
  else
    complete(c.executor(), std::move(h), std::move(e), std::move(b->result));
}

}  // namespace ferry::client::detail
