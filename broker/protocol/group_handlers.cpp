// Consumer groups: RevokeDone, committed offsets, listing. (Joining is ConsumeLog.)
#include "broker/protocol/handlers.h"

namespace ferry::broker::handlers {

void revoke_done(request_context& ctx, const v1::RevokeDone& req, responder) {
  ctx.services.groups.revoke_done(ctx.client.consumers(), req);
}

void commit_offsets(request_context& ctx, const v1::CommitOffsets& req, responder r) {
  ctx.services.groups.commit_offsets(ctx.client.consumers(), req,
                                     [r](const ferry::error& err, const v1::CommitOffsetsOk& ok) {
                                       r.answer(err, codec::body::commit_offsets_ok, ok);
                                     });
}

void fetch_offsets(request_context& ctx, const v1::FetchOffsets& req, responder r) {
  v1::OffsetList out;
  ctx.services.groups.fetch_offsets(req, out);
  r.respond(codec::body::offset_list, out);
}

void reset_offsets(request_context& ctx, const v1::ResetOffsets& req, responder r) {
  ctx.services.groups.reset_offsets(req, [r](const ferry::error& err, const v1::OffsetList& out) {
    r.answer(err, codec::body::offset_list, out);
  });
}

void list_groups(request_context& ctx, const v1::ListGroups&, responder r) {
  v1::GroupList out;
  ctx.services.groups.list_groups(out);
  r.respond(codec::body::group_list, out);
}

void describe_group(request_context& ctx, const v1::DescribeGroup& req, responder r) {
  v1::GroupInfo out;
  auto err = ctx.services.groups.describe_group(req, out);
  r.answer(err, codec::body::group_info, out);
}

}  // namespace ferry::broker::handlers
