// Request/reply round trips (workload key `request_reply`) on Redis pub/sub, for the
// redis-pubsub driver, in the usual Redis RPC pattern: each requester is a thread with two
// connections, one SUBSCRIBEd to a reply channel of its own, one PUBLISHing each request
// to the request channel as "<reply channel>|<payload>" (pub/sub messages have no headers),
// one request outstanding; the responder SUBSCRIBEs to the request channel and PUBLISHes
// each payload to its reply channel from a second connection, not waiting for each
// PUBLISH's reply. A reply is measurement reader 0's message: its end-to-end latency is
// the round trip. Several responders are unsupported (a channel is not shared).
#pragma once

#include "bench/driver.h"
#include "bench/measurement.h"
#include "bench/workload.h"

namespace ferry::bench {

ferry::error run_redis_requests(const workload& w, const endpoint& at, measurement& m);

}  // namespace ferry::bench
