// The life of one Publish frame after it is built: a pending_op resent unchanged after a
// reconnect, and the mapping of its PublishOk (or Error) onto the publishes it carried.
//
// Duplicates: PublishOk only counts them, so a message is reported duplicate=true when
// the whole frame was duplicates (accepted == 0, duplicates > 0), which includes every
// single-message frame that was a duplicate. In a mixed frame no message is marked.
// A batch that filled a frame alone takes the frame's counts as they are.
#include <algorithm>

#include "ferry/v1/publish.pb.h"

#include "client/src/client_impl.h"

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

void report_batch_run(client_impl& c, const publish_target& t, const v1::PublishOk& ok,
                      const positions& pos, const std::vector<error>& errs, uint32_t base,
                      bool alone) {
  batch_op& b = *t.batch;
  bool all_dups = ok.accepted() == 0 && ok.duplicates() > 0;
  uint32_t successes = 0;
  for (uint32_t i = 0; i < t.count; ++i) {
    uint32_t idx = base + i;
    if (idx < errs.size() && errs[idx]) {
      batch_fail(b, t.first + i, errs[idx], false);
      continue;
    }
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
    b.result.duplicates += successes;
  } else {
    b.result.accepted += successes;
  }
  b.result.subscriptions = std::max(b.result.subscriptions, ok.subscriptions());
  b.remaining -= t.count;
  batch_finish_if_done(c, t.batch, false);
}

void report(client_impl& c, std::vector<publish_target>& targets, const v1::PublishOk& ok) {
  uint32_t total = 0;
  for (const auto& t : targets)
    total += t.count;
  std::vector<error> errs;  // by message index; empty when nothing failed
  if (ok.errors_size() > 0) {
    errs.resize(total);
    for (const auto& me : ok.errors())
      if (me.index() < total)
        errs[me.index()] = error{make_error_code(errc_from_wire(me.code())), me.message()};
  }
  positions pos(ok, total, errs);
  bool all_dups = ok.accepted() == 0 && ok.duplicates() > 0;
  bool alone = targets.size() == 1 && targets[0].batch != nullptr;
  uint32_t idx = 0;
  for (auto& t : targets) {
    if (t.batch) {
      report_batch_run(c, t, ok, pos, errs, idx, alone);
      idx += t.count;
      continue;
    }
    if (idx < errs.size() && errs[idx]) {
      complete(c.executor(), std::move(t.single), errs[idx], publish_result{});
    } else {
      publish_result r;
      r.subscriptions = ok.subscriptions();
      r.duplicate = all_dups;
      r.has_offset = pos.get(idx, r.partition, r.offset);
      complete(c.executor(), std::move(t.single), error{}, r);
    }
    ++idx;
  }
}

class publish_frame_op final : public pending_op {
 public:
  publish_frame_op(std::vector<uint8_t> frame, size_t message_bytes,
                   std::vector<publish_target> targets)
      : frame_(std::move(frame)), message_bytes_(message_bytes), targets_(std::move(targets)) {}

  void write(std::vector<uint8_t>& out, uint64_t) override {
    reserve_more(out, frame_.size());
    out.insert(out.end(), frame_.begin(), frame_.end());
  }
  bool resend() const override { return true; }
  size_t frame_bytes() const override { return frame_.size(); }

  void on_response(client_impl& c, const codec::frame_view& f) override {
    c.pub().release(message_bytes_);
    if (f.kind == codec::body::publish_ok) {
      v1::PublishOk ok;
      if (ok.ParseFromArray(f.bytes.data(), static_cast<int>(f.bytes.size())))
        report(c, targets_, ok);
      else
        fail_targets(c, targets_, make_error(errc::malformed_frame, "unparsable PublishOk"));
    } else if (f.kind == codec::body::error) {
      fail_targets(c, targets_, error_from_body(f.bytes));
    } else {
      fail_targets(c, targets_, make_error(errc::internal, "unexpected response to Publish"));
    }
  }

  void on_failure(client_impl& c, const error& e) override {
    c.pub().release(message_bytes_);
    fail_targets(c, targets_, e);
  }

 private:
  std::vector<uint8_t> frame_;  // whole frame with its correlation id, for resending
  size_t message_bytes_;
  std::vector<publish_target> targets_;
};

}  // namespace

std::unique_ptr<pending_op> make_publish_op(std::vector<uint8_t> frame, size_t message_bytes,
                                            std::vector<publish_target> targets) {
  return std::make_unique<publish_frame_op>(std::move(frame), message_bytes, std::move(targets));
}

void fail_targets(client_impl& c, std::vector<publish_target>& targets, const error& e) {
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

void batch_finish_if_done(client_impl& c, const std::shared_ptr<batch_op>& b, bool later) {
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
