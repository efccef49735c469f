// ferry-push-bench: how fast a push subscription delivers to a handler that answers 200 at
// once. A handler (Beast, one thread, async, keep-alive) on 127.0.0.1; a memory topic and
// a push subscription to it with `--in-flight` requests at once; `--count` messages of
// `--bytes` published through libferry as fast as confirms come back, each carrying its
// publish time (steady clock, ns) in its first bytes, so the handler measures
// publish-to-handler latency (meaningful below the maximum rate: `--rate`). Prints one
// Markdown row (make bench-http runs it at the maximum rate and at 5,000 msg/s).
//   ferry-push-bench --broker 127.0.0.1:7411 [--count 500000] [--in-flight 64] [--rate N]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

#include "bench/publish_window.h"
#include "ferry/client/blocking_client.h"

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;
using steady = std::chrono::steady_clock;

namespace {

int64_t now_ns() {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(steady::now().time_since_epoch())
      .count();
}

// The handler: answers 200 to every POST and records when each arrived and how long after
// its publish.
struct sink {
  asio::io_context ioc{1};
  tcp::acceptor acceptor{ioc, {asio::ip::make_address("127.0.0.1"), 0}};
  std::vector<int64_t> latency_ns;
  std::atomic<size_t> received{0};
  int64_t last_ns = 0;

  void accept() {
    acceptor.async_accept([this](boost::system::error_code ec, tcp::socket s) {
      if (!ec) serve(std::make_shared<tcp::socket>(std::move(s)));
      accept();
    });
  }
  struct conn {
    beast::flat_buffer buf;
    http::request<http::string_body> req;
    http::response<http::empty_body> res{http::status::ok, 11};
  };
  void serve(std::shared_ptr<tcp::socket> s, std::shared_ptr<conn> c = nullptr) {
    if (!c) c = std::make_shared<conn>();
    c->req = {};
    http::async_read(*s, c->buf, c->req, [this, s, c](beast::error_code ec, size_t) {
      if (ec) return;
      const int64_t t = now_ns();
      const int64_t sent = std::strtoll(c->req.body().c_str(), nullptr, 10);
      latency_ns.push_back(t - sent);
      last_ns = t;
      ++received;
      c->res.keep_alive(true);
      c->res.prepare_payload();
      http::async_write(*s, c->res, [this, s, c](beast::error_code ec2, size_t) {
        if (!ec2) serve(s, c);
      });
    });
  }
};

double percentile(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  const size_t i = std::min(v.size() - 1, static_cast<size_t>(p * static_cast<double>(v.size())));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(i), v.end());
  return static_cast<double>(v[i]) / 1e6;
}

struct options {
  std::string broker = "127.0.0.1:7411";
  size_t count = 500'000, bytes = 1024, window = 20'000, rate = 0;
  uint32_t in_flight = 64;
};

// The topic and its push subscription to `url`.
bool declare(ferry::client::blocking_client& c, const std::string& topic, const std::string& url,
             uint32_t in_flight) {
  ferry::v1::CreateTopic t;
  t.set_name(topic);
  ferry::v1::CreateSubscription s;
  s.set_name(topic);
  s.set_pattern(topic);
  auto* push = s.mutable_options()->mutable_push();
  push->set_url(url);
  push->set_max_in_flight(in_flight);
  return c.create_topic(t) && c.create_subscription(s);
}

// Publishes `o.count` messages, each starting with its publish time; how many failed.
size_t publish_all(ferry::client::blocking_client& c, const std::string& topic, const options& o) {
  return ferry::bench::publish_window(c, topic, o.count, o.window, o.rate, [&](size_t) {
    std::string payload = std::to_string(now_ns());
    payload.resize(o.bytes, ' ');
    return ferry::client::message(std::move(payload));
  });
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"push subscription throughput and latency"};
  options o;
  app.add_option("--broker", o.broker);
  app.add_option("--count", o.count);
  app.add_option("--bytes", o.bytes);
  app.add_option("--in-flight", o.in_flight);
  app.add_option("--window", o.window, "publishes awaiting their confirm");
  app.add_option("--rate", o.rate, "messages per second (0: as fast as confirms come)");
  CLI11_PARSE(app, argc, argv);

  sink handler;
  handler.latency_ns.reserve(o.count);
  handler.accept();
  std::thread serving([&] { handler.ioc.run(); });
  auto stop_handler = [&] {
    handler.ioc.stop();
    serving.join();
  };
  ferry::client::client_options co;
  co.host = o.broker.substr(0, o.broker.rfind(':'));
  co.port = static_cast<uint16_t>(std::stoi(o.broker.substr(o.broker.rfind(':') + 1)));
  auto connected = ferry::client::blocking_client::connect(co);
  // Names of this run's own: a subscription of an earlier run (its handler gone) must not
  // get these messages.
  const std::string port = std::to_string(handler.acceptor.local_endpoint().port());
  const std::string topic = "bench.push." + port;
  if (!connected ||
      !declare(*connected.value(), topic, "http://127.0.0.1:" + port + "/", o.in_flight)) {
    std::fprintf(stderr, "could not connect, or create the topic and its push subscription\n");
    stop_handler();
    return 1;
  }
  auto& c = *connected.value();
  const int64_t start = now_ns();
  const size_t failed = publish_all(c, topic, o);
  const auto deadline = steady::now() + std::chrono::seconds(120);
  while (handler.received < o.count - failed && steady::now() < deadline)
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  stop_handler();
  ferry::v1::DeleteSubscription ds;
  ds.set_name(topic);
  (void)c.delete_subscription(ds);
  const size_t got = handler.received;
  const double seconds = static_cast<double>(handler.last_ns - start) / 1e9;
  const std::string offered = o.rate ? std::to_string(o.rate) + " msg/s offered" : "max rate";
  std::printf("| push, %zu B, %u in flight, 1 endpoint, %s | %.0f | %.2f | %.2f | %zu of %zu |\n",
              o.bytes, o.in_flight, offered.c_str(), static_cast<double>(got) / seconds,
              percentile(handler.latency_ns, 0.50), percentile(handler.latency_ns, 0.99), got,
              o.count);
  return got == o.count ? 0 : 2;
}
