// push_client: HTTP/1.1 POSTs to one push endpoint (Beast), over TLS for https, over a pool
// of keep-alive connections, each request under the endpoint's deadline (connect, write and read
// together). A request that fails on a reused connection before any answer came (the
// server had closed it while idle) is sent once more on a new one. No Asio in this
// header. Loop only.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include "broker/services/push_definition.h"

namespace boost::asio {
class io_context;
namespace ssl {
class context;
}
}  // namespace boost::asio

namespace ferry::broker {

class push_client {
 public:
  struct request {
    std::vector<std::pair<std::string, std::string>> headers;
    std::string body;
  };
  struct result {
    unsigned status = 0;          // 0: no answer (error says why)
    std::string error;            // why there is no answer, or what a non-2xx one said
    int64_t retry_after_ms = -1;  // its Retry-After in seconds, as ms; -1 if none
    int64_t latency_us = 0;
  };
  using done_fn = std::function<void(result)>;

  // `tls`: the client context for https endpoints (their certificates and names
  // verified); unused for http ones.
  push_client(boost::asio::io_context& ioc, push_settings settings, boost::asio::ssl::context* tls);
  ~push_client();
  push_client(const push_client&) = delete;
  push_client& operator=(const push_client&) = delete;

  // `done` runs on the loop once, unless close() came first.
  void post(request r, done_fn done);
  // Closes every connection; requests under way are dropped without their `done`.
  void close();

 private:
  struct impl;
  std::shared_ptr<impl> impl_;
};

}  // namespace ferry::broker
