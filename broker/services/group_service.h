// group_service: consumer-group requests other than joining (which is ConsumeLog with a
// group, consume_service): RevokeDone, committed offsets, listing and describing, for
// every front end. Loop only.
#pragma once

#include "ferry/v1/log.pb.h"

#include "broker/core/list_page.h"
#include "broker/services/reply.h"

namespace ferry::broker {

class catalog;
class consumer_table;
class group_coordinator;

class group_service {
 public:
  group_service(group_coordinator& groups, catalog& cat) : groups_(groups), catalog_(cat) {}

  // A member finished with the partitions revoked from it; ignored for a consumer that is
  // gone or not a member (a benign race).
  void revoke_done(consumer_table& client, const v1::RevokeDone& req);
  // Fenced (consumer_id set: a member of the group on this client) or unfenced; answered
  // once the offsets are durable.
  void commit_offsets(consumer_table& client, const v1::CommitOffsets& req,
                      reply<v1::CommitOffsetsOk> done);
  void fetch_offsets(const v1::FetchOffsets& req, v1::OffsetList& out);
  // Moves an empty group's committed offsets to a position (ResetOffsets); answered with
  // the offsets committed, once durable.
  void reset_offsets(const v1::ResetOffsets& req, reply<v1::OffsetList> done);
  void list_groups(v1::GroupList& out, const list_page& page = {});
  ferry::error describe_group(const v1::DescribeGroup& req, v1::GroupInfo& out);

 private:
  group_coordinator& groups_;
  catalog& catalog_;
};

}  // namespace ferry::broker
