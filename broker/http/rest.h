// rest: what the REST routes share: answering with a service's typed result as JSON,
// parsing a JSON body, query parameters, and access decided by names in a body.
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "broker/http/http_errors.h"
#include "broker/http/proto_json.h"
#include "broker/http/router.h"
#include "broker/services/reply.h"

namespace ferry::broker {

// The typed answer of a service as JSON, or its error.
template <typename Result>
void answer_now(const http_reply& done, const ferry::error& err, const Result& out,
                unsigned status = 200) {
  done(err ? error_response(err) : json_response(to_json_text(out), status));
}

// The same, for a service that answers later.
template <typename Result>
reply<Result> answer(http_reply done, unsigned status = 200) {
  return [done = std::move(done), status](const ferry::error& err, const Result& out) {
    answer_now(done, err, out, status);
  };
}

// A body that parses into `out`, or false after answering 400.
template <typename Request>
bool parse_body(const http_request& req, Request& out, const http_reply& done) {
  if (auto err = from_json_text(req.body, out)) {
    done(error_response(err));
    return false;
  }
  return true;
}

// Access by names in a JSON body of `Request`: parsed once here (kept with the targets),
// and again by the handler, which answers a body that does not parse.
template <typename Request>
route_access body_names(void (*names)(const http_request&, const Request&, access_targets&)) {
  return {false, [names](const http_request& req, access_targets& t) {
            auto parsed = std::make_shared<Request>();
            (void)from_json_text(req.body, *parsed);
            names(req, *parsed, t);
            t.keep = std::move(parsed);
          }};
}

inline std::string query_or_empty(const http_request& req, std::string_view name) {
  const std::string* v = req.query_param(name);
  return v ? *v : std::string();
}

}  // namespace ferry::broker
