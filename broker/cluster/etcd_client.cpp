#include "broker/cluster/etcd_client.h"

#include <chrono>
#include <deque>
#include <map>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http/empty_body.hpp>
#include <boost/beast/http/read.hpp>
#include <boost/beast/http/string_body.hpp>
#include <boost/beast/http/write.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>
#include <boost/json/value.hpp>

#include "broker/cluster/etcd_json.h"
#include "broker/core/assert.h"

namespace ferry::broker {

using namespace etcd_json;
namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace json = boost::json;
using tcp = asio::ip::tcp;

namespace {

// A range over many keys can be large; anything past this is an error, not an answer.
constexpr uint64_t max_answer_bytes = 64ull << 20;

const json::object no_answer;  // what a failed call's callback is given

// A POST of a JSON body to etcd at `ep`.
http::request<http::string_body> make_request(const char* target, const etcd_endpoint& ep,
                                              std::string body) {
  http::request<http::string_body> req{http::verb::post, target, 11};
  req.set(http::field::host, ep.host + ":" + ep.port);
  req.set(http::field::content_type, "application/json");
  req.body() = std::move(body);
  req.prepare_payload();
  return req;
}

}  // namespace

struct etcd_client::impl : std::enable_shared_from_this<impl> {
  using answer_fn = std::function<void(std::string error, const json::object& answer)>;

  struct call {
    const char* target;
    std::string body;
    answer_fn done;
    size_t tries = 0;
    bool renewed = false;  // sent again on a new connection after a reused one failed
  };

  struct watcher {
    explicit watcher(asio::io_context& ioc) : resolver(ioc), stream(ioc) {}
    tcp::resolver resolver;
    beast::tcp_stream stream;
    beast::flat_buffer buffer;
    http::response_parser<http::empty_body> parser;
    std::function<size_t(uint64_t, std::string_view, beast::error_code&)> on_chunk;
    http::request<http::string_body> req;
    json::stream_parser json;
    events_fn events;
    done_fn ended;
    std::string ended_reason;  // what etcd said when it ended the watch
    size_t endpoint = 0;
  };

  impl(asio::io_context& c, std::vector<etcd_endpoint> e, int64_t t)
      : ioc(c), endpoints(std::move(e)), timeout(t), resolver(c) {}

  // ---- unary calls: one at a time over one keep-alive connection ----

  void unary(const char* target, std::string body, answer_fn done) {
    queue.push_back({target, std::move(body), std::move(done)});
    next();
  }

  void next() {
    if (busy || closed || queue.empty()) return;
    busy = true;
    reused = conn != nullptr;
    if (reused) return send();
    connect();
  }

  void connect() {
    conn = std::make_unique<beast::tcp_stream>(ioc);
    conn->expires_after(timeout);
    const auto& ep = endpoints[current];
    resolver.async_resolve(
        ep.host, ep.port,
        [self = shared_from_this()](beast::error_code ec, tcp::resolver::results_type found) {
          if (self->closed) return;
          if (ec) return self->broken("resolving", ec);
          self->conn->async_connect(found, [self](beast::error_code ec2, const tcp::endpoint&) {
            if (self->closed) return;
            if (ec2) return self->broken("connecting to", ec2);
            beast::error_code ignored;
            self->conn->socket().set_option(tcp::no_delay(true), ignored);
            self->send();
          });
        });
  }

  void send() {
    const auto& c = queue.front();  // its body stays for a retry on another endpoint
    auto req = std::make_shared<http::request<http::string_body>>(
        make_request(c.target, endpoints[current], c.body));
    req->keep_alive(true);
    conn->expires_after(timeout);
    http::async_write(*conn, *req, [self = shared_from_this(), req](beast::error_code ec, size_t) {
      if (self->closed) return;
      if (ec) return self->broken("sending to", ec);
      self->receive();
    });
  }

  void receive() {
    auto parser = std::make_shared<http::response_parser<http::string_body>>();
    parser->body_limit(max_answer_bytes);
    http::async_read(*conn, buffer, *parser,
                     [self = shared_from_this(), parser](beast::error_code ec, size_t) {
                       if (self->closed) return;
                       if (ec) return self->broken("reading the answer of", ec);
                       auto& res = parser->get();
                       if (!res.keep_alive()) self->conn.reset();
                       self->answered(res.result_int(), res.body());
                     });
  }

  // The call at the front is over: its callback, then the next call.
  void finish(std::string error, const json::object& answer) {
    auto c = std::move(queue.front());
    queue.pop_front();
    busy = false;
    c.done(std::move(error), answer);
    next();
  }

  void answered(unsigned status, const std::string& body) {
    boost::system::error_code ec;
    auto v = json::parse(body, ec);
    if (ec || !v.is_object())
      return finish(
          "etcd answered HTTP " + std::to_string(status) + " with a body that is not JSON",
          no_answer);
    std::string error = error_of(v.as_object());
    if (error.empty() && status != 200) error = "etcd answered HTTP " + std::to_string(status);
    if (!error.empty()) return finish(std::move(error), no_answer);
    const auto* r = v.as_object().if_contains("result");  // a streaming call's one answer
    finish({}, r != nullptr && r->is_object() ? r->as_object() : v.as_object());
  }

  // The connection failed: the call goes to the next endpoint, once per endpoint.
  void broken(const char* doing, beast::error_code ec) {
    conn.reset();
    buffer.clear();
    busy = false;
    // A kept-alive connection etcd had closed meanwhile: once more on a new one.
    if (reused && !queue.front().renewed && ec != beast::error::timeout) {
      queue.front().renewed = true;
      return next();
    }
    const auto& ep = endpoints[current];
    std::string why =
        ec == beast::error::timeout
            ? "no answer from etcd at " + ep.host + ":" + ep.port + " within " +
                  std::to_string(timeout.count()) + " ms"
            : std::string(doing) + " etcd at " + ep.host + ":" + ep.port + ": " + ec.message();
    current = (current + 1) % endpoints.size();
    if (++queue.front().tries >= endpoints.size()) return finish(std::move(why), no_answer);
    next();
  }

  // ---- watches: a long chunked answer each ----

  uint64_t watch(const std::string& key, bool prefix, int64_t start, events_fn events,
                 done_fn ended) {
    const uint64_t id = next_watch++;
    auto w = std::make_shared<watcher>(ioc);
    w->events = std::move(events);
    w->ended = std::move(ended);
    w->endpoint = current;
    json::object create = key_range(key, prefix);
    if (start > 0) create["start_revision"] = std::to_string(start);
    json::object body;
    body["create_request"] = std::move(create);
    const auto& ep = endpoints[w->endpoint];
    w->req = make_request("/v3/watch", ep, json::serialize(body));
    // Beast keeps the chunk callback by reference: it lives in the watcher. Raw pointers,
    // not owners: it only runs inside a read whose handler holds both.
    w->on_chunk = [this, id, raw = w.get()](uint64_t, std::string_view data,
                                            beast::error_code& ec) -> size_t {
      watch_bytes(id, *raw, data, ec);
      return data.size();
    };
    w->stream.expires_after(timeout);
    watches[id] = w;
    w->resolver.async_resolve(
        ep.host, ep.port,
        [self = shared_from_this(), id, w](beast::error_code ec,
                                           tcp::resolver::results_type found) {
          if (self->ended_watch(id, ec, "resolving")) return;
          w->stream.async_connect(
              found, [self, id, w](beast::error_code ec2, const tcp::endpoint&) {
                if (self->ended_watch(id, ec2, "connecting to")) return;
                http::async_write(w->stream, w->req, [self, id, w](beast::error_code ec3, size_t) {
                  if (self->ended_watch(id, ec3, "sending a watch to")) return;
                  w->parser.body_limit(boost::none);
                  w->parser.on_chunk_body(w->on_chunk);
                  self->read_watch(id, w);
                });
              });
        });
    return id;
  }

  void read_watch(uint64_t id, const std::shared_ptr<watcher>& w) {
    // Connected and answering: the stream may stay quiet for as long as nothing changes.
    w->stream.expires_never();
    http::async_read_some(
        w->stream, w->buffer, w->parser,
        [self = shared_from_this(), id, w](beast::error_code ec, size_t) {
          if (self->ended_watch(id, ec, "reading a watch from")) return;
          if (w->parser.is_done()) return self->end_watch(id, "etcd ended the watch");
          if (w->parser.is_header_done() && w->parser.get().result() != http::status::ok)
            return self->end_watch(
                id, "etcd refused the watch: HTTP " + std::to_string(w->parser.get().result_int()));
          self->read_watch(id, w);
        });
  }

  // Chunks carry concatenated JSON objects, split anywhere.
  void watch_bytes(uint64_t id, watcher& w, std::string_view data, beast::error_code& ec) {
    while (!data.empty()) {
      boost::system::error_code jec;
      const size_t used = w.json.write_some(data.data(), data.size(), jec);
      if (jec) {
        ec = http::error::bad_chunk;
        return;
      }
      data.remove_prefix(used);
      if (!w.json.done()) return;
      const auto v = w.json.release();
      w.json.reset();
      std::vector<etcd_event> events;
      int64_t revision = 0;
      if (auto error = read_watch_answer(v, events, revision); !error.empty()) {
        ec = http::error::bad_chunk;  // ends the read; the reason goes with it
        w.ended_reason = std::move(error);
        return;
      }
      if (!events.empty() && watches.contains(id)) w.events(std::move(events), revision);
    }
  }

  // True when the watch is over (closed, cancelled, or `ec` ended it).
  bool ended_watch(uint64_t id, beast::error_code ec, const char* doing) {
    if (closed || !watches.contains(id)) return true;
    if (!ec) return false;
    auto& w = *watches.at(id);
    const auto& ep = endpoints[w.endpoint];
    std::string why = !w.ended_reason.empty()
                          ? w.ended_reason
                          : std::string(doing) + " etcd at " + ep.host + ":" + ep.port + ": " +
                                (ec == beast::error::timeout ? "timed out" : ec.message());
    end_watch(id, std::move(why));
    return true;
  }

  void end_watch(uint64_t id, std::string why) {
    auto it = watches.find(id);
    if (it == watches.end()) return;
    auto w = it->second;
    watches.erase(it);
    close_watch(*w);
    w->ended(std::move(why));
  }

  static void close_watch(watcher& w) {
    w.resolver.cancel();
    beast::error_code ignored;
    w.stream.socket().close(ignored);
  }

  void cancel_watch(uint64_t id) {
    auto it = watches.find(id);
    if (it == watches.end()) return;
    close_watch(*it->second);
    watches.erase(it);
  }

  void close() {
    closed = true;
    resolver.cancel();
    if (conn) {
      beast::error_code ignored;
      conn->socket().close(ignored);
    }
    for (auto& [id, w] : watches)
      close_watch(*w);
    watches.clear();
    queue.clear();
  }

  asio::io_context& ioc;
  std::vector<etcd_endpoint> endpoints;
  std::chrono::milliseconds timeout;
  tcp::resolver resolver;
  size_t current = 0;  // the endpoint unary calls use
  std::unique_ptr<beast::tcp_stream> conn;
  beast::flat_buffer buffer;
  std::deque<call> queue;
  bool busy = false;
  bool reused = false;  // the call under way went on a kept-alive connection
  bool closed = false;
  std::map<uint64_t, std::shared_ptr<watcher>> watches;
  uint64_t next_watch = 1;
};

etcd_client::etcd_client(asio::io_context& ioc, std::vector<etcd_endpoint> endpoints,
                         int64_t timeout_ms)
    : impl_(std::make_shared<impl>(ioc, std::move(endpoints), timeout_ms)) {
  FERRY_ASSERT(!impl_->endpoints.empty(), "parse_etcd_endpoints gives at least one");
}

etcd_client::~etcd_client() {
  close();
}

void etcd_client::grant(int64_t ttl_s, grant_fn done) {
  impl_->unary("/v3/lease/grant", one_field("TTL", ttl_s),
               [done = std::move(done)](std::string error, const json::object& a) {
                 done(std::move(error), number(a, "ID"), number(a, "TTL"));
               });
}

void etcd_client::keep_alive(int64_t lease, keep_alive_fn done) {
  impl_->unary("/v3/lease/keepalive", one_field("ID", lease),
               [done = std::move(done)](std::string error, const json::object& a) {
                 done(std::move(error), number(a, "TTL"));
               });
}

void etcd_client::revoke(int64_t lease, done_fn done) {
  impl_->unary(
      "/v3/lease/revoke", one_field("ID", lease),
      [done = std::move(done)](std::string error, const json::object&) { done(std::move(error)); });
}

void etcd_client::range(std::string key, bool prefix, range_fn done) {
  impl_->unary("/v3/kv/range", json::serialize(key_range(key, prefix)),
               [done = std::move(done)](std::string error, const json::object& a) {
                 done(std::move(error), read_kvs(a), header_revision(a));
               });
}

void etcd_client::txn(etcd_txn t, txn_fn done) {
  impl_->unary("/v3/kv/txn", encode_txn(t),
               [done = std::move(done)](std::string error, const json::object& a) {
                 done(std::move(error), read_txn_answer(a));
               });
}

uint64_t etcd_client::watch(std::string key, bool prefix, int64_t start_revision, events_fn events,
                            done_fn ended) {
  return impl_->watch(key, prefix, start_revision, std::move(events), std::move(ended));
}

void etcd_client::cancel_watch(uint64_t id) {
  impl_->cancel_watch(id);
}

void etcd_client::close() {
  if (impl_) impl_->close();
}

}  // namespace ferry::broker
