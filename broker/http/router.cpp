#include "broker/http/router.h"

#include <boost/beast/core/string.hpp>
#include <boost/url/parse.hpp>

#include "broker/core/assert.h"
#include "broker/http/http_errors.h"

namespace ferry::broker {

namespace {

std::vector<std::string_view> split_pattern(std::string_view pattern) {
  std::vector<std::string_view> out;
  size_t at = 1;  // after the leading '/'
  while (at <= pattern.size()) {
    size_t slash = pattern.find('/', at);
    if (slash == std::string_view::npos) slash = pattern.size();
    out.push_back(pattern.substr(at, slash - at));
    at = slash + 1;
  }
  if (!out.empty() && out.back().empty()) out.pop_back();  // "/" has no segments
  return out;
}

// The values of the pattern's `{name}` segments if `segments` match it.
bool match(const std::vector<std::string_view>& parts, const std::vector<std::string>& segments,
           std::vector<std::string>* params) {
  if (parts.size() != segments.size()) return false;
  std::vector<std::string> values;
  for (size_t i = 0; i < parts.size(); ++i) {
    const bool param = parts[i].size() > 1 && parts[i].front() == '{';
    if (param) {
      if (segments[i].empty()) return false;
      values.push_back(segments[i]);
    } else if (parts[i] != segments[i]) {
      return false;
    }
  }
  if (params) *params = std::move(values);
  return true;
}

}  // namespace

route_access open_to_all() {
  return {true, nullptr};
}

route_access on_broker(operation op) {
  return {false,
          [op](const http_request&, access_targets& t) { t.add(resource_kind::broker, {}, op); }};
}

route_access on_param(resource_kind kind, operation op, size_t param) {
  return {false, [kind, op, param](const http_request& req, access_targets& t) {
            t.add(kind, param < req.params.size() ? req.params[param] : std::string_view(), op);
          }};
}

route_access on_request(void (*targets)(const http_request&, access_targets&)) {
  return {false, targets};
}

void router::secure(authenticator& authn, authorizer& authz) {
  authn_ = &authn;
  authz_ = &authz;
}

void router::add(route r) {
  FERRY_ASSERT(r.access.open || r.access.targets, "a route must say who may call it");
  routes_.push_back(std::move(r));
  parts_.clear();  // split again on the next dispatch: the patterns' storage may have moved
}

ferry::error router::check_access(const route& r, http_request& req) const {
  if (r.access.open || authn_ == nullptr) return {};
  std::string_view auth = req.header("Authorization");
  // A browser's WebSocket cannot send headers: its token may come as ?access_token=
  // (RFC 6750 2.3), on the upgrade to GET /v1/ws only.
  const bool ws_upgrade = req.websocket && req.segments.size() == 2 && req.segments[0] == "v1" &&
                          req.segments[1] == "ws";
  const std::string* in_query = ws_upgrade ? req.query_param("access_token") : nullptr;
  if (authn_->required()) {
    const bool bearer = auth.size() > 7 && boost::beast::iequals(auth.substr(0, 7), "Bearer ");
    if (bearer) {
      if (auto err = authn_->bearer(auth.substr(7), req.who)) return err;
    } else if (in_query != nullptr) {
      if (auto err = authn_->bearer(*in_query, req.who)) return err;
    } else if (!req.tls_identity.empty()) {
      if (auto err = authn_->certificate(req.tls_identity, req.who)) return err;
    } else {
      return {make_error_code(errc::unauthenticated),
              "this broker requires authentication: Authorization: Bearer TOKEN, or a TLS "
              "client certificate"};
    }
  }
  access_targets t;
  r.access.targets(req, t);
  return authorize_all(*authz_, req.who, t);
}

void router::dispatch(http_request& req, http_reply done) const {
  if (parts_.size() != routes_.size()) {
    parts_.clear();
    for (const auto& r : routes_)
      parts_.push_back(split_pattern(r.pattern));
  }
  std::string allowed;
  for (size_t i = 0; i < routes_.size(); ++i) {
    const route& r = routes_[i];
    if (!match(parts_[i], req.segments, nullptr)) continue;
    if (r.method == req.method) {
      match(parts_[i], req.segments, &req.params);
      if (auto err = check_access(r, req)) {
        auto resp = error_response(err);
        if (err.code == errc::unauthenticated)
          resp.headers.emplace_back("WWW-Authenticate", "Bearer realm=\"ferry\"");
        done(std::move(resp));
        return;
      }
      r.handle(req, std::move(done));
      return;
    }
    allowed += (allowed.empty() ? "" : ", ") + r.method;
  }
  if (allowed.empty()) {
    done(error_response(errc::unknown_request, "no route for " + req.method + " " + req.target));
    return;
  }
  auto resp = error_response(errc::unknown_request, req.method + " is not allowed on " +
                                                        req.target + " (allowed: " + allowed + ")");
  resp.status = 405;
  resp.headers.emplace_back("Allow", allowed);
  done(std::move(resp));
}

ferry::error parse_target(std::string_view target, http_request& out) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url)
    return {make_error_code(errc::invalid_argument),
            "the request target is not a path: " + url.error().message()};
  out.target = std::string(target);
  out.segments.clear();
  for (auto seg : url->segments())
    out.segments.push_back(seg);
  // "/" and "/v1/topics/" name the same resources as "" and "/v1/topics".
  if (!out.segments.empty() && out.segments.back().empty()) out.segments.pop_back();
  out.query.clear();
  for (auto p : url->params())
    out.query.emplace_back(p.key, p.has_value ? p.value : std::string());
  return {};
}

}  // namespace ferry::broker
