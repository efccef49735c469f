// The README's libferry example, compiled with the project so it stays true.
// Usage: ferry-hello [HOST PORT]  (against a running ferryd)
#include <cstdio>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include "ferry/client/client.h"

namespace asio = boost::asio;
using namespace ferry::client;

asio::awaitable<void> demo(client& c) {
  if (auto err = co_await c.async_connect(asio::use_awaitable)) {
    std::fprintf(stderr, "connect: %s\n", err.to_string().c_str());
    co_return;
  }
  v1::CreateTopic t;
  t.set_name("orders.eu");
  t.set_if_not_exists(true);
  co_await c.async_create_topic(t, asio::use_awaitable);

  subscribe_options so;
  so.pattern = "orders.*";  // an ephemeral subscription, gone when we disconnect
  consumer sub;
  std::tie(std::ignore, sub) = co_await c.async_subscribe(
      so,
      [&](const delivery& d) {
        std::printf("got '%.*s' on %.*s\n", int(d.payload().size()), d.payload().data(),
                    int(d.topic().size()), d.topic().data());
        // auto_ack is off: settle each delivery (ack() batches; async_ack also waits for
        // the broker's answer). One message is enough for a demo: close after the ack.
        sub.async_ack(d, [&](ferry::error) { c.close(); });
      },
      asio::use_awaitable);

  auto [err, confirm] =
      co_await c.async_publish("orders.eu", message("hello"), asio::use_awaitable);
  if (err)
    std::fprintf(stderr, "publish: %s\n", err.to_string().c_str());
  else
    std::printf("confirmed: enqueued on %u subscription(s)\n", confirm.subscriptions);
}

int main(int argc, char** argv) {
  asio::io_context io;
  client_options opts;
  if (argc == 3) {
    opts.host = argv[1];
    opts.port = static_cast<uint16_t>(std::atoi(argv[2]));
  }
  opts.reconnect = false;
  client c(io.get_executor(), opts);
  asio::co_spawn(io, demo(c), asio::detached);
  io.run();
}
