// ferry-ws-bench: how fast ferryd delivers a memory subscription's backlog to one
// WebSocket client (GET /v1/ws), against the binary protocol draining the same backlog.
// `--count` messages of `--bytes` are published through libferry first (the publish path
// is measured elsewhere), then one client subscribes with a window of `--prefetch` and
// drains them: deliveries counted as they are read, the window given back (auto-ack:
// Credit) or the deliveries acked (`--ack`: one Ack per delivery message, as a client
// that processes a batch would), until all arrived. Prints one Markdown row.
//   ferry-ws-bench --broker 127.0.0.1:7411 --http 127.0.0.1:7412
//                  [--via json|protobuf|binary] [--ack] [--count 1000000] [--bytes 100]
// The JSON client finds the delivery ids by scanning for "delivery_id": (a real client
// parses the JSON; this one keeps its own CPU out of the broker's way on 2 cores).
#include <chrono>
#include <cstdio>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/websocket/stream.hpp>

#include "ferry/v1/websocket.pb.h"

#include "bench/publish_window.h"
#include "ferry/client/blocking_client.h"
#include "ferry/client/client.h"
#include "proto/codec/frame_codec.h"
#include "proto/codec/wire.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;
namespace fc = ferry::client;

namespace {

struct options {
  std::string broker = "127.0.0.1:7411", http = "127.0.0.1:7412", via = "protobuf";
  size_t count = 1'000'000, bytes = 100;
  uint32_t prefetch = 10'000;
  bool ack = false;
};

std::pair<std::string, uint16_t> split(const std::string& hp) {
  const auto colon = hp.rfind(':');
  return {hp.substr(0, colon), static_cast<uint16_t>(std::stoi(hp.substr(colon + 1)))};
}

// `o.count` messages on `topic`, as fast as confirms come back.
bool prefill(fc::blocking_client& c, const std::string& topic, const options& o) {
  const std::string payload(o.bytes, 'x');
  return ferry::bench::publish_window(c, topic, o.count, 20'000, 0,
                                      [&](size_t) { return fc::message(payload); }) == 0;
}

// The delivery ids of one delivery message, in either format.
void ids_of(const std::string& data, bool json, std::vector<uint64_t>& ids, uint64_t& consumer) {
  ids.clear();
  if (json) {
    static constexpr std::string_view key = R"("delivery_id":)";
    for (size_t at = data.find(key); at != std::string::npos; at = data.find(key, at)) {
      at += key.size();
      ids.push_back(std::strtoull(data.c_str() + at, nullptr, 10));
    }
    return;
  }
  ferry::wire::reader r(data);
  ferry::wire::field f;
  while (r.next(f))
    if (f.number == ferry::v1::WsEvent::kDeliverFieldNumber) {
      std::vector<ferry::codec::delivery_view> views;
      (void)ferry::codec::parse_deliver(f.bytes, consumer, views);
      for (const auto& v : views)
        ids.push_back(v.delivery_id);
    }
}

std::string settle_request(const options& o, uint64_t consumer, const std::vector<uint64_t>& ids) {
  std::string s = R"({"id":0,")";
  if (!o.ack)
    return s + R"(credit":{"consumer_id":)" + std::to_string(consumer) + R"(,"credit":)" +
           std::to_string(ids.size()) + "}}";
  s += R"(ack":{"consumer_id":)" + std::to_string(consumer) + R"(,"delivery_ids":[)";
  for (size_t i = 0; i < ids.size(); ++i)
    s.append(i ? "," : "").append(std::to_string(ids[i]));
  return s + "]}}";
}

// Drains the subscription over a WebSocket; seconds from the subscribe to the last delivery.
double drain_ws(const options& o, const std::string& subscription) {
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws(ioc);
  const auto [host, port] = split(o.http);
  ws.next_layer().connect(tcp::endpoint(asio::ip::make_address(host), port));
  ws.read_message_max(256 << 20);
  ws.handshake(o.http, "/v1/ws?format=" + o.via);
  const bool json = o.via == "json";
  const auto start = steady::now();
  ws.text(true);
  ws.write(asio::buffer(R"({"id":1,"subscribe":{"subscription":")" + subscription +
                        R"(","prefetch":)" + std::to_string(o.prefetch) + R"(,"auto_ack":)" +
                        (o.ack ? "false" : "true") + "}}"));
  beast::flat_buffer buf;
  size_t got = 0;
  uint64_t consumer = 1;  // the first consumer of the connection
  std::vector<uint64_t> ids;
  while (got < o.count) {
    ws.read(buf);
    const std::string data = beast::buffers_to_string(buf.cdata());
    buf.consume(buf.size());
    ids_of(data, json, ids, consumer);
    if (ids.empty()) continue;  // the SubscribeOk, settle answers
    got += ids.size();
    ws.text(true);
    ws.write(asio::buffer(settle_request(o, consumer, ids)));
  }
  const double seconds = std::chrono::duration<double>(steady::now() - start).count();
  ws.close(websocket::close_code::normal);
  return seconds;
}

// The same over the binary protocol: libferry's async client on this thread, its acks
// batched per executor turn.
double drain_binary(const options& o, const std::string& subscription) {
  asio::io_context ioc;
  fc::client_options co;
  std::tie(co.host, co.port) = split(o.broker);
  fc::client c(ioc.get_executor(), co);
  size_t got = 0;
  fc::consumer sub;
  const auto start = steady::now();
  steady::time_point last;
  c.async_connect([&](ferry::error e) {
    if (e) return ioc.stop();
    fc::subscribe_options so;
    so.subscription = subscription;
    so.prefetch = o.prefetch;
    so.auto_ack = !o.ack;
    auto on_delivery = [&](const fc::delivery& d) {
      if (o.ack) sub.ack(d);
      if (++got == o.count) {
        last = steady::now();
        ioc.stop();
      }
    };
    c.async_subscribe(so, on_delivery, [&](ferry::error e2, fc::consumer k) {
      if (e2) return ioc.stop();
      sub = std::move(k);
      sub.on_settle_error([](uint64_t, const ferry::error&) {});  // acks cut short at the end
    });
  });
  ioc.run_for(std::chrono::seconds(120));
  return got == o.count ? std::chrono::duration<double>(last - start).count() : 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"WebSocket delivery throughput"};
  options o;
  app.add_option("--broker", o.broker);
  app.add_option("--http", o.http);
  app.add_option("--via", o.via)->check(CLI::IsMember({"json", "protobuf", "binary"}));
  app.add_flag("--ack", o.ack, "ack every delivery (else auto-ack with credit)");
  app.add_option("--count", o.count);
  app.add_option("--bytes", o.bytes);
  app.add_option("--prefetch", o.prefetch);
  CLI11_PARSE(app, argc, argv);

  fc::client_options co;
  std::tie(co.host, co.port) = split(o.broker);
  auto connected = fc::blocking_client::connect(co);
  if (!connected) {
    std::fprintf(stderr, "connect: %s\n", connected.err().to_string().c_str());
    return 1;
  }
  auto& c = *connected.value();
  const std::string topic = "bench.ws." + std::to_string(::getpid());
  ferry::v1::CreateTopic t;
  t.set_name(topic);
  ferry::v1::CreateSubscription s;
  s.set_name(topic);
  s.set_pattern(topic);
  if (!c.create_topic(t) || !c.create_subscription(s) || !prefill(c, topic, o)) {
    std::fprintf(stderr, "could not create %s or publish its backlog\n", topic.c_str());
    return 1;
  }
  const double seconds = o.via == "binary" ? drain_binary(o, topic) : drain_ws(o, topic);
  ferry::v1::DeleteTopic dt;
  dt.set_name(topic);
  (void)c.delete_subscription([&] {
    ferry::v1::DeleteSubscription ds;
    ds.set_name(topic);
    return ds;
  }());
  (void)c.delete_topic(dt);
  if (seconds <= 0) {
    std::fprintf(stderr, "the backlog was not drained\n");
    return 2;
  }
  const std::string how = o.via == "binary" ? "binary protocol (libferry)" : "WebSocket, " + o.via;
  std::printf("| %s, %s, %zu B, window %u | %.0f | %.1f |\n", how.c_str(),
              o.ack ? "acks" : "auto-ack + credit", o.bytes, o.prefetch,
              static_cast<double>(o.count) / seconds,
              static_cast<double>(o.count) * static_cast<double>(o.bytes) / seconds / 1e6);
  return 0;
}
