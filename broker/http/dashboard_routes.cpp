#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "broker/http/http_errors.h"
#include "broker/http/metrics.h"
#include "broker/http/routes.h"

namespace ferry::broker {

extern const std::string_view dashboard_html;  // dashboard_asset.cpp, made from dashboard.html

void add_dashboard_routes(router& r, const metrics_registry& metrics, std::string version) {
  r.add({"GET", "/", "The dashboard: one page that polls the REST API and /v1/stats.",
         open_to_all(), [](const http_request&, http_reply done) {
           http_response resp;
           resp.content_type = "text/html; charset=utf-8";
           resp.body = std::string(dashboard_html);
           resp.headers.emplace_back("Cache-Control", "no-cache");
           done(std::move(resp));
         }});
  // Broker-wide series only (no per-topic source), so it is cheap however many topics
  // there are: rendered here, on the loop.
  r.add({"GET", "/v1/stats", "The broker-wide metrics (those without per-topic series) as JSON.",
         open_to_all(),
         [&metrics, version = std::move(version)](const http_request&, http_reply done) {
           boost::json::object body;
           body["version"] = version;
           body["metrics"] =
               boost::json::parse(metrics_registry::render_json(metrics.take_broker()));
           done(json_response(boost::json::serialize(body)));
         }});
}

}  // namespace ferry::broker
