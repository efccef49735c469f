// Request/reply round trips (workload key `request_reply`) on core NATS, for the nats
// driver: each requester is a thread with a connection of its own calling
// natsConnection_Request (a new inbox subscription per client, the request's reply
// subject; one request outstanding, as `nats bench` requesters), the responders a queue
// group (one plain subscription when there is one) answering each request on its reply
// subject with its payload. A reply is measurement reader 0's message: its end-to-end
// latency is the round trip. Every connection sends at once (send_asap), as a
// latency-bound client would set it.
#pragma once

#include "bench/driver.h"
#include "bench/measurement.h"
#include "bench/workload.h"

namespace ferry::bench {

ferry::error run_nats_requests(const workload& w, const endpoint& at, measurement& m);

}  // namespace ferry::bench
