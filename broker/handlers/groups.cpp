// Consumer groups: joining (ConsumeLog with a group), RevokeDone, offsets, listing.
#include "ferry/v1/log.pb.h"

#include "broker/handlers/dispatch.h"
#include "broker/handlers/parse.h"
#include "broker/server/context.h"
#include "broker/session/session.h"
#include "broker/topics/consumer_group.h"
#include "broker/topics/log_topic.h"

namespace ferry::broker::handlers {
namespace {

constexpr int64_t default_session_timeout_ms = 10'000;
constexpr int64_t max_session_timeout_ms = 300'000;

}  // namespace

void join_group(session& s, uint64_t cid, const v1::ConsumeLog& req, log_topic& t,
                uint32_t credit) {
  auto& reg = s.ctx().topics();
  if (!req.partitions().empty())
    return s.respond_error(cid, errc::invalid_argument,
                           "a group member does not name partitions: the group assigns them");
  ferry::error err;
  consumer_group* g = reg.group_for(req.group(), req.topic(), err);
  if (g == nullptr) return s.respond_error(cid, err);
  int64_t timeout = req.session_timeout_ms() == 0
                        ? default_session_timeout_ms
                        : std::min<int64_t>(req.session_timeout_ms(), max_session_timeout_ms);
  consumer& c = s.add_consumer(credit, true);
  std::vector<v1::PartitionAssignment> none;
  (void)t.attach(c, {}, none);
  c.set_group(g);
  std::string member_id;
  auto assigned = g->join(t, c, s.client_id(), req.default_start(), timeout, reg.now(), member_id);
  v1::ConsumeLogOk ok;
  ok.set_consumer_id(c.id());
  ok.set_member_id(member_id);
  ok.set_generation(g->generation());
  for (auto& a : assigned)
    *ok.add_assigned() = a;
  s.respond(cid, codec::body::consume_log_ok, ok);
}

void handle_revoke_done(session& s, std::string_view bytes) {
  v1::RevokeDone req;
  if (!parse(s, 0, bytes, req)) return;
  consumer* c = s.find_consumer(req.consumer_id());
  if (c == nullptr || c->group() == nullptr || c->reader() == nullptr) return;  // gone meanwhile
  s.ctx().topics().begin_event();
  c->group()->revoke_done(c->reader()->topic(), *c, s.ctx().topics().now());
}

void handle_commit_offsets(session& s, uint64_t cid, std::string_view bytes) {
  v1::CommitOffsets req;
  if (!parse(s, cid, bytes, req)) return;
  auto& reg = s.ctx().topics();
  reg.begin_event();
  consumer* member = nullptr;
  if (req.consumer_id() != 0) {
    member = s.find_consumer(req.consumer_id());
    if (member == nullptr || member->group() == nullptr)
      return s.respond_error(cid, errc::unknown_member,
                             "consumer " + std::to_string(req.consumer_id()) +
                                 " is not a group member on this connection");
  }
  meta_changes changes;
  if (auto err = reg.prepare_commit(req, member, changes)) return s.respond_error(cid, err);
  s.ctx().persist(std::move(changes), [w = s.weak_from_this(), cid, req](ferry::error err) {
    auto sp = w.lock();
    if (!err && sp) sp->ctx().topics().apply_commit(req);
    if (!sp) return;
    if (err) return sp->respond_error(cid, err);
    sp->respond(cid, codec::body::commit_offsets_ok, v1::CommitOffsetsOk());
  });
}

void handle_fetch_offsets(session& s, uint64_t cid, std::string_view bytes) {
  v1::FetchOffsets req;
  if (!parse(s, cid, bytes, req)) return;
  v1::OffsetList out;
  consumer_group* g = s.ctx().topics().find_group(req.group());
  if (g != nullptr && (req.topic().empty() || g->topic() == req.topic())) {
    for (const auto& [p, off] : g->committed()) {
      auto* po = out.add_offsets();
      po->set_partition(p);
      po->set_offset(off);
    }
  }
  s.respond(cid, codec::body::offset_list, out);
}

void handle_list_groups(session& s, uint64_t cid, std::string_view bytes) {
  v1::ListGroups req;
  if (!parse(s, cid, bytes, req)) return;
  v1::GroupList out;
  s.ctx().topics().list_groups(out);
  s.respond(cid, codec::body::group_list, out);
}

void handle_describe_group(session& s, uint64_t cid, std::string_view bytes) {
  v1::DescribeGroup req;
  if (!parse(s, cid, bytes, req)) return;
  v1::GroupInfo out;
  if (auto err = s.ctx().topics().describe_group(req.group(), out))
    return s.respond_error(cid, err);
  s.respond(cid, codec::body::group_info, out);
}

}  // namespace ferry::broker::handlers
