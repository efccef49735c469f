// log_reader: consumer groups (Assignment pushes, revocation), commits (explicit, automatic,
// on revoke and close) and the keepalive that keeps members' sessions alive.
#include <algorithm>

#include "ferry/v1/log.pb.h"
#include "ferry/v1/session.pb.h"

#include "client/src/log_reader.h"

namespace ferry::client::detail {

namespace {

// Commit failures that rebalances and reconnects cause on their own: the next commit, or
// the member that now owns the partition, takes over.
bool expected_commit_failure(const error& e) {
  return e.code == errc::rebalance_in_progress || e.code == errc::unknown_member ||
         e.code == errc::disconnected || e.code == errc::unknown_consumer;
}

}  // namespace

// Revoked partitions stop reaching the handler now; they are committed, told to
// on_revoked and answered with RevokeDone in revoke(). Added partitions start at once.
void log_reader::on_assignment(std::string_view body) {
  v1::Assignment a;
  if (!a.ParseFromArray(body.data(), static_cast<int>(body.size()))) {
    c_.drop_connection(make_error(errc::malformed_frame, "unparsable Assignment from the broker"));
    return;
  }
  std::shared_ptr<log_consumer_state> s = table_.find(a.consumer_id());
  if (!s) return;
  if (s->closed) return;  // leaving the group: the Unsubscribe settles it
  s->generation = a.generation();
  std::vector<uint32_t> revoked(a.revoked().begin(), a.revoked().end());
  partition_offsets to_commit;
  for (uint32_t p : revoked) {
    auto pit = s->parts.find(p);
    if (pit == s->parts.end() || pit->second.revoked) continue;
    auto& st = pit->second;
    st.revoked = true;
    st.seeks = 0;
    st.held.clear();
    if (s->opts.auto_commit && st.processed != st.committed)
      to_commit.emplace_back(p, st.processed);
  }
  if (!revoked.empty() && s->on_drop) s->on_drop(revoked);
  std::vector<uint32_t> assigned;
  for (const auto& pa : a.assigned()) {
    auto& st = s->parts[pa.partition()];
    st = log_partition_state{};
    st.next = st.processed = st.committed = pa.next_offset();
    assigned.push_back(pa.partition());
  }
  if (!assigned.empty() && s->opts.on_assigned) s->opts.on_assigned(assigned);
  if (!revoked.empty()) revoke(s, a.generation(), std::move(revoked), std::move(to_commit));
}

void log_reader::revoke(const std::shared_ptr<log_consumer_state>& s, uint64_t generation,
                        std::vector<uint32_t> revoked, partition_offsets to_commit) {
  uint64_t epoch = s->epoch;
  if (to_commit.empty() || !live(*s)) {
    after_revoke(s, epoch, generation, revoked);
    return;
  }
  send_commit(s, std::move(to_commit),
              [this, alive = lifetime_.watch(), s, epoch, generation, revoked](error e) {
                if (e && !expected_commit_failure(e))
                  log_warning("committing revoked partitions of group '" + s->opts.group +
                              "' failed: " + e.to_string());
                if (!alive.expired()) after_revoke(s, epoch, generation, revoked);
              });
}

void log_reader::after_revoke(const std::shared_ptr<log_consumer_state>& s, uint64_t epoch,
                              uint64_t generation, const std::vector<uint32_t>& revoked) {
  if (s->closed || s->epoch != epoch) return;  // a lost connection revoked everything already
  if (s->opts.on_revoked) s->opts.on_revoked(revoked);
  for (uint32_t p : revoked) {
    auto it = s->parts.find(p);
    if (it != s->parts.end() && it->second.revoked) s->parts.erase(it);
  }
  if (!live(*s) || s->epoch != epoch) return;
  v1::RevokeDone done;
  done.set_consumer_id(s->broker_id);
  done.set_generation(generation);
  c_.send_push(0, codec::body::revoke_done, done);
}

partition_offsets log_reader::advanced(const log_consumer_state& s) {
  partition_offsets out;
  for (const auto& [p, st] : s.parts)
    if (st.processed != st.committed) out.emplace_back(p, st.processed);
  return out;
}

void log_reader::commit(const std::shared_ptr<log_consumer_state>& s,
                        std::optional<partition_offsets> offsets, void_handler h) {
  if (s->done) {
    complete_later(s->ex, std::move(h), make_error(errc::unknown_consumer, "the reader is closed"));
    return;
  }
  partition_offsets list = offsets ? std::move(*offsets) : advanced(*s);
  if (list.empty() && s->commits()) {
    complete_later(s->ex, std::move(h), error{});
    return;
  }
  send_commit(s, std::move(list), std::move(h));
}

// A member's commit is fenced by its consumer id and generation; a manual reader's is not.
void log_reader::send_commit(const std::shared_ptr<log_consumer_state>& s,
                             partition_offsets offsets, void_handler h) {
  if (!s->commits()) {
    complete_later(s->ex, std::move(h),
                   make_error(errc::invalid_argument,
                              "the reader has no group to commit to (consume_options::group)"));
    return;
  }
  bool fenced = s->member();
  if (fenced && (s->broker_id == 0 || !c_.connected() || s->epoch != c_.epoch())) {
    complete_later(s->ex, std::move(h),
                   make_error(errc::disconnected, "not a group member while disconnected"));
    return;
  }
  auto req = std::make_shared<v1::CommitOffsets>();
  req->set_group(s->opts.group);
  req->set_topic(s->opts.topic);
  for (const auto& [p, off] : offsets) {
    auto* po = req->add_offsets();
    po->set_partition(p);
    po->set_offset(off);
  }
  if (fenced) {
    req->set_consumer_id(s->broker_id);
    req->set_generation(s->generation);
  }
  c_.send_request(codec::body::commit_offsets, req, codec::body::commit_offsets_ok,
                  std::make_shared<v1::CommitOffsetsOk>(),
                  [s, offsets = std::move(offsets), h = std::move(h)](error e) mutable {
                    if (!e) {
                      for (const auto& [p, off] : offsets) {
                        auto it = s->parts.find(p);
                        if (it != s->parts.end()) it->second.committed = off;
                      }
                    }
                    complete(s->ex, std::move(h), std::move(e));
                  });
}

void log_reader::arm_auto_commit(const std::shared_ptr<log_consumer_state>& s) {
  auto interval = s->opts.auto_commit_interval;
  if (!s->opts.auto_commit || !s->commits() || s->closed || interval.count() <= 0) return;
  s->next_commit = clock::now() + interval;
  schedule_commits();
}

void log_reader::schedule_commits() {
  auto earliest = clock::time_point::max();
  for (const auto& s : table_.kept())
    if (!s->closed) earliest = std::min(earliest, s->next_commit);
  if (earliest == commit_at_) return;
  commit_at_ = earliest;
  ++commit_generation_;
  commit_timer_.cancel();
  if (earliest == clock::time_point::max()) return;
  commit_timer_.expires_at(earliest);
  commit_timer_.async_wait(
      [this, alive = lifetime_.watch(), gen = commit_generation_](boost::system::error_code ec) {
        if (ec || alive.expired() || c_.closed()) return;
        on_commit_timer(gen);
      });
}

void log_reader::on_commit_timer(uint64_t generation) {
  if (generation != commit_generation_) return;
  commit_at_ = clock::time_point::max();
  auto now = clock::now();
  auto list = table_.kept();
  for (auto& s : list)
    if (!s->closed && s->next_commit <= now) auto_commit(s);
  schedule_commits();
}

// One auto-commit at a time; a member commits only while attached.
void log_reader::auto_commit(const std::shared_ptr<log_consumer_state>& s) {
  s->next_commit = clock::now() + s->opts.auto_commit_interval;
  if (s->commit_in_flight || (s->member() && !live(*s))) return;
  partition_offsets offsets = advanced(*s);
  if (offsets.empty()) return;
  s->commit_in_flight = true;
  send_commit(s, std::move(offsets), [s](error e) {
    s->commit_in_flight = false;
    if (e && !expected_commit_failure(e))
      log_warning("auto-commit to group '" + s->opts.group + "' failed: " + e.to_string());
  });
}

// A member is removed when its connection is silent for its session timeout: ping when
// idle for a third of the smallest one. Re-armed at once when it shrinks.
void log_reader::update_keepalive() {
  auto smallest = std::chrono::milliseconds::max();
  for (const auto& s : table_.kept())
    if (s->member() && !s->closed) smallest = std::min(smallest, s->opts.session_timeout);
  std::chrono::milliseconds interval{0};
  if (smallest != std::chrono::milliseconds::max())
    interval = std::max(std::chrono::milliseconds(10), smallest / 3);
  if (interval == keepalive_) return;
  keepalive_ = interval;
  ++keepalive_generation_;
  keepalive_timer_.cancel();
  if (interval.count() > 0) arm_keepalive(interval);
}

void log_reader::arm_keepalive(std::chrono::milliseconds after) {
  keepalive_timer_.expires_after(after);
  keepalive_timer_.async_wait(
      [this, alive = lifetime_.watch(), gen = keepalive_generation_](boost::system::error_code ec) {
        if (ec || alive.expired() || c_.closed()) return;
        on_keepalive(gen);
      });
}

void log_reader::on_keepalive(uint64_t generation) {
  if (generation != keepalive_generation_ || keepalive_.count() == 0) return;
  auto wait = keepalive_;
  if (c_.connected()) {
    auto idle =
        std::chrono::duration_cast<std::chrono::milliseconds>(clock::now() - c_.last_write());
    if (idle >= keepalive_)
      c_.send_push(c_.next_id(), codec::body::ping, v1::Ping());
    else
      wait = keepalive_ - idle + std::chrono::milliseconds(1);
  }
  arm_keepalive(wait);
}

}  // namespace ferry::client::detail
