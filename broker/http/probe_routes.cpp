#include <memory>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>

#include "broker/http/http_errors.h"
#include "broker/http/metrics.h"
#include "broker/http/routes.h"
#include "proto/codec/frame_codec.h"

namespace ferry::broker {

namespace json = boost::json;

void add_probe_routes(router& r, std::function<readiness()> ready, std::string version) {
  r.add({"GET", "/livez", "The broker's loop answers.", open_to_all(),
         [](const http_request&, http_reply done) { done(json_response(R"({"status":"ok"})")); }});
  r.add({"GET", "/readyz",
         "Ready: recovery done, both listeners up, not draining, under the disk and memory "
         "alarms (503 otherwise, with the reason).",
         open_to_all(), [ready = std::move(ready)](const http_request&, http_reply done) {
           const readiness now = ready();
           json::object body;
           body["status"] = now.ready ? "ready" : "not ready";
           if (!now.ready) body["reason"] = now.reason;
           done(json_response(json::serialize(body), now.ready ? 200 : 503));
         }});
  r.add({"GET", "/version", "ferryd's version and the wire protocol's.", open_to_all(),
         [version = std::move(version)](const http_request&, http_reply done) {
           json::object body;
           body["version"] = version;
           body["protocol_version"] = codec::protocol_version;
           done(json_response(json::serialize(body)));
         }});
}

void add_metrics_routes(router& r, const metrics_registry& metrics, post_fn off_loop,
                        post_fn on_loop) {
  r.add({"GET", "/metrics", "Metrics in the Prometheus text exposition format.", open_to_all(),
         [&metrics, off_loop, on_loop](const http_request&, http_reply done) {
           metrics.take(on_loop, [off_loop, on_loop, done = std::move(done)](
                                     metrics_registry::snapshot taken) mutable {
             auto snap = std::make_shared<metrics_registry::snapshot>(std::move(taken));
             off_loop([snap, on_loop, done = std::move(done)]() mutable {
               auto resp = std::make_shared<http_response>();
               resp->content_type = "text/plain; version=0.0.4; charset=utf-8";
               resp->body = metrics_registry::render(*snap);
               snap.reset();  // the copies go here, off the loop
               on_loop([resp, done = std::move(done)] { done(std::move(*resp)); });
             });
           });
         }});
}

}  // namespace ferry::broker
