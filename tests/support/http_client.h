// http_client: a small blocking HTTP/1.1 client (Boost.Beast) for integration tests of
// ferryd's HTTP side, plus a raw socket for what a well-behaved client never sends.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <boost/json/value.hpp>

namespace ferry::testing {

struct http_result {
  unsigned status = 0;
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;

  std::string header(const std::string& name) const;  // case-insensitive; "" if none
  boost::json::value json() const;                    // throws if the body is not JSON
  // error.code of a JSON error body ("" if none).
  std::string error_code() const;
};

// The value in a /metrics scrape of the series whose line starts with `series`
// ("name" or "name{labels}"), or -1 when there is none.
double metric_sample(const std::string& scrape, const std::string& series);

// One request on a new connection (Connection: close).
http_result http_call(uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body = {},
                      std::vector<std::pair<std::string, std::string>> headers = {});

// A keep-alive connection: requests one after another on the same socket.
class http_connection {
 public:
  explicit http_connection(uint16_t port);
  ~http_connection();
  http_result call(const std::string& method, const std::string& target,
                   const std::string& body = {});
  // Writes raw bytes (pipelined or malformed requests) and reads one response to them.
  void send_raw(const std::string& bytes);
  http_result read_response(std::chrono::milliseconds timeout = std::chrono::seconds(5));
  // Whether the server closed the connection within `timeout`.
  bool closed_by_peer(std::chrono::milliseconds timeout = std::chrono::seconds(5));

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ferry::testing
