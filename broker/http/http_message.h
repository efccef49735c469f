// http_message: a request and a response of the HTTP side as its handlers see them,
// without Beast: the server fills the one and writes the other.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "broker/security/principal.h"

namespace ferry::broker {

// An HTTP connection's stream and request, handed over after a 101 (http_upgrade.h).
struct http_upgrade;

struct http_request {
  std::string method;                 // "GET"
  std::string target;                 // as sent: "/v1/topics?pattern=orders.%2A"
  std::vector<std::string> segments;  // the path, percent-decoded: {"v1", "topics"}
  std::vector<std::pair<std::string, std::string>> query;  // percent-decoded
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
  std::vector<std::string> params;  // the values of the route's `{name}` segments, in order
  principal who;             // the bearer token's principal (anonymous when authentication is off)
  std::string tls_identity;  // a verified TLS client certificate's common name, or ""
  bool websocket = false;    // an upgrade to WebSocket (RFC 6455) was asked for

  // The first header (case-insensitive name) or query parameter with this name; "" if none.
  std::string_view header(std::string_view name) const;
  const std::string* query_param(std::string_view name) const;
};

struct http_response {
  unsigned status = 200;
  std::string content_type = "application/json";
  std::string body;
  std::vector<std::pair<std::string, std::string>> headers;
  // Status 101: who takes the connection over (the HTTP server writes nothing; the taker
  // answers the upgrade).
  std::function<void(std::unique_ptr<http_upgrade>)> upgrade;
};

// Answers a request exactly once, on the loop (at once, or after a catalog write).
using http_reply = std::function<void(http_response)>;

}  // namespace ferry::broker
