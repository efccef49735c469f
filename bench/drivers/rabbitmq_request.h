// Request/reply round trips (workload key `request_reply`) on RabbitMQ, for its driver,
// the way RabbitMQ documents RPC: direct reply-to. Each requester is a thread with a
// connection of its own consuming the pseudo-queue amq.rabbitmq.reply-to (no-ack, as
// direct reply-to requires) and publishing each request through the default exchange to
// the request queue with reply_to set to it, one request outstanding; the responders
// consume the request queue (a classic non-durable queue, no-ack; several compete on it)
// and publish each request's body back to its reply_to. A reply is measurement reader 0's
// message: its end-to-end latency is the round trip. No publisher confirms, as the RPC
// tutorial has none.
#pragma once

#include "bench/driver.h"
#include "bench/measurement.h"
#include "bench/workload.h"

namespace ferry::bench {

ferry::error run_rabbitmq_requests(const workload& w, const endpoint& at, measurement& m);

}  // namespace ferry::bench
