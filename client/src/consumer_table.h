// consumer_table<State>: the consumers of one kind (subscription consumers, log readers)
// a client keeps across connections. Written once for both: which states are re-attached
// after a reconnect, which broker consumer id names which state on the current
// connection, and the Credit that goes back for deliveries handled.
//
// A State has `broker_id` (0 = not attached on this connection), `epoch` (the connection
// it is attached on) and `closed`. Executor: the client's.
#pragma once

#include <algorithm>
#include <cstdint>
#include <memory>
#include <unordered_map>
#include <vector>

#include "ferry/v1/consume.pb.h"

#include "client/src/link.h"

namespace ferry::client::detail {

template <typename State>
class consumer_table {
 public:
  using state_ptr = std::shared_ptr<State>;

  // Kept: attached again after every reconnect until it is forgotten.
  void keep(const state_ptr& s) { kept_.push_back(s); }
  // Attached on the current connection (epoch `epoch`) under broker consumer id `id`.
  void bind(const state_ptr& s, uint64_t id, uint64_t epoch) {
    s->broker_id = id;
    s->epoch = epoch;
    by_id_[id] = s;
  }
  // The state attached under `id` on this connection, or null.
  state_ptr find(uint64_t id) const {
    auto it = by_id_.find(id);
    return it == by_id_.end() ? nullptr : it->second;
  }
  // Closed for good: neither kept nor attached.
  void forget(const state_ptr& s) {
    kept_.erase(std::remove(kept_.begin(), kept_.end(), s), kept_.end());
    auto it = by_id_.find(s->broker_id);
    if (it != by_id_.end() && it->second == s) by_id_.erase(it);
  }
  const std::vector<state_ptr>& kept() const { return kept_; }

  // A new connection: every kept state that is not closed loses its old id and goes to
  // `attach` (which sends its Subscribe or ConsumeLog again).
  template <typename Attach>
  void reattach(Attach attach) {
    auto list = kept_;
    for (auto& s : list) {
      if (s->closed) continue;
      s->broker_id = 0;
      attach(s);
    }
  }
  // The connection was lost: nothing is attached any more.
  void detach_all() {
    by_id_.clear();
    for (auto& s : kept_)
      s->broker_id = 0;
  }
  // Every state, kept or attached, each once; the table is empty after (the client closes).
  std::vector<state_ptr> take_all() {
    std::vector<state_ptr> all = std::move(kept_);
    kept_.clear();
    for (auto& [id, s] : by_id_)
      if (std::find(all.begin(), all.end(), s) == all.end()) all.push_back(s);
    by_id_.clear();
    return all;
  }

 private:
  std::vector<state_ptr> kept_;
  std::unordered_map<uint64_t, state_ptr> by_id_;
};

// Whether `s` is attached on the client's current connection.
template <typename State>
bool attached(const link& c, const State& s) {
  return !s.closed && s.broker_id != 0 && c.epoch() != 0 && s.epoch == c.epoch();
}

// Returns credit for `n` deliveries that arrived on connection `epoch`, if `s` is still
// attached there (credit of an earlier connection means nothing to the broker).
template <typename State>
void send_credit(link& c, const State& s, uint64_t epoch, uint32_t n) {
  if (n == 0 || s.epoch != epoch || !attached(c, s)) return;
  v1::Credit credit;
  credit.set_consumer_id(s.broker_id);
  credit.set_credit(n);
  c.send_push(0, codec::body::credit, credit);
}

}  // namespace ferry::client::detail
