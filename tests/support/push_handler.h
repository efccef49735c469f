// push_handler: a real HTTP/1.1 server on 127.0.0.1 (Beast, a thread per connection) for
// tests of push subscriptions: it records every request, answers as the test's policy
// says (status, Retry-After, a delay), and counts how many requests it held at once.
// Stops when destroyed.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

namespace ferry::testing {

class push_handler {
 public:
  struct request {
    std::string target;
    std::map<std::string, std::string> headers;  // names in lower case
    std::string body;
    std::chrono::steady_clock::time_point at;
    std::string header(const std::string& lower_name) const;
  };
  struct answer {
    unsigned status = 200;
    std::string retry_after;  // "" = none
    std::chrono::milliseconds delay{0};
  };
  // Called for each request with it and how many came before it.
  using policy = std::function<answer(const request&, size_t index)>;
  // With a certificate and key (PEM files), the handler speaks HTTPS.
  struct tls_files {
    std::string cert_file, key_file;
  };

  explicit push_handler(policy p = {}, tls_files tls = {});
  ~push_handler();
  push_handler(const push_handler&) = delete;
  push_handler& operator=(const push_handler&) = delete;

  uint16_t port() const;
  std::string url(const std::string& path = "/events") const;  // https:// with a certificate
  std::vector<request> requests() const;
  size_t count() const;
  size_t max_concurrent() const;
  // Waits until `n` requests came; false after `timeout`.
  bool wait_for(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ferry::testing
