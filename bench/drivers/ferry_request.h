// ferry_request: request/reply round trips (workload key `request_reply`) through
// libferry's client::async_request (PROTOCOL.md 8), for the ferry driver.
//
// The requesters (a client each) share one loop and thread, each keeping one request
// outstanding (closed loop, as `nats bench` requesters do); every responder has a client,
// loop and thread of its own and answers each request on its reply_to topic with the
// request's payload and correlation id. A reply is measurement reader 0's message, so
// its end-to-end latency is the round trip and a request never answered counts as lost.
#pragma once

#include "bench/driver.h"
#include "bench/measurement.h"
#include "bench/workload.h"

namespace ferry::bench {

// Blocking and bounded (warm-up + duration + 30 s).
ferry::error run_ferry_requests(const workload& w, const endpoint& at, measurement& m);

}  // namespace ferry::bench
