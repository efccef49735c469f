// router: the HTTP side's route table. A route is a method, a path pattern with `{name}`
// segments, who may call it and a handler; every request of the HTTP listener goes through
// dispatch(), which answers unknown paths (404) and wrong methods (405) itself, and checks
// access before the handler: the bearer token's principal (401 without a valid one, when
// authentication is on) must pass the authorizer for what the route names (403). The table
// is also what /v1/openapi.json is checked against. No Beast here: handlers see a plain
// request and answer with a plain response. Loop only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/http/http_message.h"
#include "broker/security/authorizer.h"
#include "proto/codec/errc.h"

namespace google::protobuf {
class Descriptor;
}

namespace ferry::broker {

// Who may call a route: anyone (`open`: probes, /metrics, the page), or a principal that
// passes the authorizer for every target `targets` names in the request.
struct route_access {
  bool open = false;
  std::function<void(const http_request&, access_targets&)> targets;
};
route_access open_to_all();
// The route's operation on: the broker; the path's `{name}` number `param`; what a
// function of the request says.
route_access on_broker(operation op);
route_access on_param(resource_kind kind, operation op, size_t param = 0);
route_access on_request(void (*targets)(const http_request&, access_targets&));

struct route {
  std::string method;   // GET, POST, PUT, DELETE
  std::string pattern;  // "/v1/topics/{name}"
  std::string summary;  // one line, for the OpenAPI document
  route_access access;
  std::function<void(const http_request&, http_reply)> handle;
  // What the OpenAPI document says of it (openapi.h): the JSON body it takes and the one
  // it answers with (ferry.v1 messages; none: not JSON of a message), its query
  // parameters, and the status of success.
  const google::protobuf::Descriptor* body = nullptr;
  const google::protobuf::Descriptor* answer = nullptr;
  std::vector<std::string> query = {};
  unsigned status = 200;
};

class router {
 public:
  // Without this, everyone is anonymous and allowed (authentication off).
  void secure(authenticator& authn, authorizer& authz);
  // A route must say who may call it (open, or targets to authorize).
  void add(route r);
  // Fills `req.params` from the matching route, checks access and calls it; else answers
  // 404 (UNKNOWN_REQUEST: no such route), 405 (with Allow: the methods the path has), 401
  // (UNAUTHENTICATED, with WWW-Authenticate) or 403 (UNAUTHORIZED).
  void dispatch(http_request& req, http_reply done) const;
  const std::vector<route>& routes() const { return routes_; }

 private:
  // The error when the request may not call `r`; else `req.who` is its principal.
  ferry::error check_access(const route& r, http_request& req) const;

  std::vector<route> routes_;
  // Each route's pattern split into segments once (dispatch makes them after the last add).
  mutable std::vector<std::vector<std::string_view>> parts_;
  authenticator* authn_ = nullptr;
  authorizer* authz_ = nullptr;
};

// Splits an origin-form request target ("/a/b%2Fc?x=1") into decoded segments and query
// parameters; INVALID_ARGUMENT if it is not one.
ferry::error parse_target(std::string_view target, http_request& out);

}  // namespace ferry::broker
