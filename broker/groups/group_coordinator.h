// group_coordinator: the consumer groups of the broker's log topics, with the broker as
// their coordinator (Kafka's group coordinator, on one node).
//
// Owns the groups: created when a member first joins or a commit first names them,
// loaded from the catalog with their committed offsets, erased when their topic is
// deleted or when the last member of a group that never committed leaves. Finds the log
// topics through the log registry. Loop only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "ferry/v1/log.pb.h"

#include "broker/catalog/catalog.h"
#include "broker/core/clock.h"
#include "broker/core/list_page.h"
#include "broker/groups/consumer_group.h"
#include "broker/groups/group_probe.h"
#include "broker/logs/log_registry.h"

namespace ferry::broker {

class group_coordinator {
 public:
  group_coordinator(const loop_clock& clock, log_registry& logs) : clock_(clock), logs_(logs) {}

  const group_probe& probe() const { return probe_; }

  // The groups of a catalog snapshot whose topic still exists.
  void recover(const catalog_snapshot& snap);

  // The group `name` reading log topic `topic`, created on first use; an error when the
  // group reads another topic or the names are invalid.
  consumer_group* group_for(const std::string& name, const std::string& topic, ferry::error& err);
  consumer_group* find(std::string_view name);
  // Adds `c` (attached to `t` with no partitions) to the group; the ConsumeLogOk fields.
  void join(consumer_group& g, log_topic& t, consumer& c, const std::string& client_id,
            const v1::ConsumeLog& req, v1::ConsumeLogOk& ok);
  // `c` leaves its group (it closed, or its session timed out); its partitions move.
  void leave(consumer& c);
  void revoke_done(consumer& c);

  // Checks a commit and records it in `b`; apply_commit() once `b` is durable.
  ferry::error prepare_commit(const v1::CommitOffsets& req, consumer* member, catalog_batch& b);
  void apply_commit(const v1::CommitOffsets& req);
  // A ResetOffsets: checks that the group has no members and that the partitions exist,
  // resolves each partition's position (TIME asks storage, so `done` may come later), and
  // hands `done` the unfenced commit that makes the reset.
  using reset_fn = std::function<void(const ferry::error&, const v1::CommitOffsets&)>;
  void resolve_reset(const v1::ResetOffsets& req, reset_fn done);
  // An error unless group `name` is unknown or has no members (offsets may be reset).
  ferry::error check_idle(std::string_view name);
  void list(v1::GroupList& out, const list_page& page = {});
  ferry::error describe(std::string_view name, v1::GroupInfo& out);

  // Topic `name` is being deleted: its groups go with it (their members are cancelled as
  // readers of the topic). Nothing for names that are not log topics.
  void topic_removed(std::string_view name, catalog_batch& b);

  // Revocation deadlines; members whose session timed out are removed and cancelled.
  void tick();

 private:
  void expire_members(const std::string& name);

  const loop_clock& clock_;
  log_registry& logs_;
  group_probe probe_;
  std::map<std::string, std::unique_ptr<consumer_group>, std::less<>> groups_;
};

}  // namespace ferry::broker
