// http_server: the HTTP listener (Boost.Beast) on the broker's loop. Each connection
// reads one request at a time (pipelined requests wait in its buffer and are answered in
// order), hands it to the router as an event of its own (clock stamped before, flush
// point after), and writes the answer; keep-alive until the client closes, the idle
// timeout passes or a request fails to parse. Limits (http_settings): connections, header
// and body bytes, idle and request timeouts. Every failure is answered with the JSON
// error body before the connection closes. Beast and Asio stay out of this header.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "broker/http/http_settings.h"
#include "broker/net/tls_context.h"
#include "proto/codec/errc.h"

namespace boost::asio {
class io_context;
}

namespace ferry::broker {

class loop_clock;
class router;

struct http_probe {
  uint64_t connections_accepted = 0;
  uint64_t connections_refused = 0;  // http.max_connections
  uint64_t requests = 0;
  uint64_t bad_requests = 0;  // unparseable, over a limit, or timed out mid-request
};

class http_server {
 public:
  // `flush` is the broker's flush point, run after each request's handler; `tls` the TLS
  // context of a new connection (none: plain HTTP).
  http_server(boost::asio::io_context& ioc, const http_settings& settings, const router& routes,
              loop_clock& now, std::function<void()> flush, tls_source tls);
  ~http_server();

  ferry::error bind(const std::string& address);
  std::string local_address() const;
  void start();
  // Stops accepting and closes every connection.
  void stop();
  size_t connections() const;
  const http_probe& probe() const;

  struct impl;  // http_server.cpp: shared with its connections

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace ferry::broker
