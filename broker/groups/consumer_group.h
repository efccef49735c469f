// consumer_group: members sharing one log topic's partitions, with the broker as the
// coordinator.
//
// Owns the membership, the assignment and the group's committed offsets (loaded from and
// written to the catalog by the group coordinator). Assignment is sticky: on every membership
// change each member keeps what it owns up to its fair share, and only the partitions that must
// move move. A moving partition is first revoked from its owner (deliveries stop at once, the owner
// is told with an Assignment push, commits and answers RevokeDone) and only then given to its new
// owner, so no partition is ever delivered to two members at once. An owner that neither answers
// nor keeps its session alive loses its partitions after its session timeout.
//
// Members are consumers of the log topic's readers; the group adds and removes their
// partitions through log_topic. Broker loop only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "ferry/v1/log.pb.h"

#include "broker/logs/log_topic.h"
#include "broker/topics/consumer.h"

namespace ferry::broker {

class consumer_group {
 public:
  struct member {
    std::string member_id;
    std::string client_id;
    consumer* c = nullptr;
    v1::Position default_start;
    int64_t session_timeout_ms = 10'000;
    std::set<uint32_t> owned;     // delivered to this member
    std::set<uint32_t> revoking;  // taken away, waiting for its RevokeDone
    int64_t revoke_deadline = 0;  // steady ms
  };

  consumer_group(std::string name, std::string topic)
      : name_(std::move(name)), topic_(std::move(topic)) {}

  const std::string& name() const { return name_; }
  const std::string& topic() const { return topic_; }
  uint64_t generation() const { return generation_; }
  const std::vector<member>& members() const { return members_; }
  bool empty() const { return members_.empty(); }

  // Adds `c` (a reader of `t` with no partitions yet) as a member; returns what it gets
  // right away. Others may get Assignment pushes.
  std::vector<v1::PartitionAssignment> join(log_topic& t, consumer& c, std::string client_id,
                                            v1::Position default_start, int64_t session_timeout_ms,
                                            int64_t now, std::string& member_id);
  // `c` left (closed, disconnected, timed out): its partitions go to the others.
  void leave(log_topic& t, consumer& c, int64_t now);
  // `c` finished with the partitions revoked from it.
  void revoke_done(log_topic& t, consumer& c, int64_t now);
  // Revocation timeouts; returns the members whose session timed out (their connection
  // sent nothing for session_timeout_ms), for the coordinator to remove.
  std::vector<consumer*> on_tick(log_topic& t, int64_t now);

  // Whether `c` may commit partition `p` now (it owns it or is giving it back).
  ferry::error may_commit(const consumer& c, uint32_t p) const;
  const std::map<uint32_t, uint64_t>& committed() const { return committed_; }
  void set_committed(uint32_t p, uint64_t offset) { committed_[p] = offset; }
  void describe(const log_topic& t, v1::GroupInfo& out) const;

 private:
  member* find(const consumer& c);
  const member* find(const consumer& c) const;
  struct plan;
  // Recomputes the target assignment and moves partitions toward it.
  std::vector<v1::PartitionAssignment> rebalance(log_topic& t, int64_t now, const consumer* joiner);
  plan fair_shares(uint32_t partitions) const;
  void keep_or_revoke(log_topic& t, int64_t now, plan& pl);
  void assign_free(const log_topic& t, const consumer* joiner, plan& pl,
                   std::vector<v1::PartitionAssignment>& for_joiner);
  uint64_t start_offset(const log_topic& t, uint32_t p, const v1::Position& default_start) const;

  std::string name_;
  std::string topic_;
  uint64_t generation_ = 0;
  uint64_t next_member_ = 1;
  std::vector<member> members_;
  std::map<uint32_t, uint64_t> committed_;
};

}  // namespace ferry::broker
