// Request handlers: one function per request type, called by the session with the
// decoded envelope. Each answers through the session (respond / respond_error) exactly
// once per request with a correlation id, now or after a storage write.
#pragma once

#include <cstdint>
#include <string_view>

#include "proto/codec/frame_codec.h"

namespace ferry::broker {
class session;
}

namespace ferry::broker::handlers {

// Routes a frame to its handler (the handshake first).
void dispatch(session& s, const codec::frame_view& frame);

void handle_hello(session& s, uint64_t correlation_id, std::string_view body);
void handle_publish(session& s, uint64_t correlation_id, std::string_view body);
void handle_subscribe(session& s, uint64_t correlation_id, std::string_view body);
void handle_unsubscribe(session& s, uint64_t correlation_id, std::string_view body);
void handle_credit(session& s, std::string_view body);
void handle_settle(session& s, uint64_t correlation_id, codec::body kind, std::string_view body);
// Log topics: attaching a reader, moving it.
void handle_consume_log(session& s, uint64_t correlation_id, std::string_view body);
void handle_seek(session& s, uint64_t correlation_id, std::string_view body);
// Consumer groups.
void handle_revoke_done(session& s, std::string_view body);
void handle_commit_offsets(session& s, uint64_t correlation_id, std::string_view body);
void handle_fetch_offsets(session& s, uint64_t correlation_id, std::string_view body);
void handle_list_groups(session& s, uint64_t correlation_id, std::string_view body);
void handle_describe_group(session& s, uint64_t correlation_id, std::string_view body);
// Topic and subscription management (create, delete, list, describe).
void handle_admin(session& s, uint64_t correlation_id, codec::body kind, std::string_view body);

}  // namespace ferry::broker::handlers
