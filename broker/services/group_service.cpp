#include "broker/services/group_service.h"

#include "broker/catalog/catalog.h"
#include "broker/core/errors.h"
#include "broker/groups/group_coordinator.h"
#include "broker/services/consumer_table.h"

namespace ferry::broker {

void group_service::revoke_done(consumer_table& client, const v1::RevokeDone& req) {
  if (consumer* c = client.find(req.consumer_id())) groups_.revoke_done(*c);
}

void group_service::commit_offsets(consumer_table& client, const v1::CommitOffsets& req,
                                   reply<v1::CommitOffsetsOk> done) {
  consumer* member = nullptr;
  if (req.consumer_id() != 0) {
    member = client.find(req.consumer_id());
    if (member == nullptr || member->group() == nullptr)
      return done(fail(errc::unknown_member, "consumer " + std::to_string(req.consumer_id()) +
                                                 " is not a group member on this connection"),
                  {});
  }
  catalog_batch b;
  if (auto err = groups_.prepare_commit(req, member, b)) return done(err, {});
  catalog_.apply(std::move(b), [this, req, done = std::move(done)](const ferry::error& err) {
    if (!err) groups_.apply_commit(req);
    done(err, {});
  });
}

void group_service::fetch_offsets(const v1::FetchOffsets& req, v1::OffsetList& out) {
  consumer_group* g = groups_.find(req.group());
  if (g == nullptr || (!req.topic().empty() && g->topic() != req.topic())) return;
  for (const auto& [p, off] : g->committed()) {
    auto* po = out.add_offsets();
    po->set_partition(p);
    po->set_offset(off);
  }
}

void group_service::reset_offsets(const v1::ResetOffsets& req, reply<v1::OffsetList> done) {
  groups_.resolve_reset(req, [this, done = std::move(done)](const ferry::error& err,
                                                            const v1::CommitOffsets& commit) {
    if (err) return done(err, {});
    // A member may have joined while the positions were looked up.
    if (auto busy = groups_.check_idle(commit.group())) return done(busy, {});
    catalog_batch b;
    if (auto refused = groups_.prepare_commit(commit, nullptr, b)) return done(refused, {});
    catalog_.apply(std::move(b), [this, commit, done](const ferry::error& e) {
      if (e) return done(e, {});
      groups_.apply_commit(commit);
      v1::OffsetList out;
      *out.mutable_offsets() = commit.offsets();
      done({}, out);
    });
  });
}

void group_service::list_groups(v1::GroupList& out, const list_page& page) {
  groups_.list(out, page);
}

ferry::error group_service::describe_group(const v1::DescribeGroup& req, v1::GroupInfo& out) {
  return groups_.describe(req.group(), out);
}

}  // namespace ferry::broker
