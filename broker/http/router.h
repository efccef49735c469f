// router: the HTTP side's route table. A route is a method, a path pattern with `{name}`
// segments and a handler; every request of the HTTP listener goes through dispatch(),
// which answers unknown paths (404) and wrong methods (405) itself. The table is also
// what /v1/openapi.json is checked against. No Beast here: handlers see a plain request
// and answer with a plain response. Loop only.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/http/http_message.h"
#include "proto/codec/errc.h"

namespace google::protobuf {
class Descriptor;
}

namespace ferry::broker {

struct route {
  std::string method;   // GET, POST, PUT, DELETE
  std::string pattern;  // "/v1/topics/{name}"
  std::string summary;  // one line, for the OpenAPI document
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
  void add(route r);
  // Fills `req.params` from the matching route and calls it; else answers 404
  // (UNKNOWN_REQUEST: no such route) or 405 (with Allow: the methods the path has).
  void dispatch(http_request& req, http_reply done) const;
  const std::vector<route>& routes() const { return routes_; }

 private:
  std::vector<route> routes_;
};

// Splits an origin-form request target ("/a/b%2Fc?x=1") into decoded segments and query
// parameters; INVALID_ARGUMENT if it is not one.
ferry::error parse_target(std::string_view target, http_request& out);

}  // namespace ferry::broker
