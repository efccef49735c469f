#include "tests/support/ws_client.h"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket/stream.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>

namespace ferry::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace json = boost::json;
using tcp = asio::ip::tcp;

struct ws_client::impl {
  asio::io_context ioc;
  websocket::stream<tcp::socket> ws{ioc};
  beast::flat_buffer buffer;
  bool reading = false;
  bool done = false;
  beast::error_code result;
};

ws_client::ws_client(uint16_t port, std::string target,
                     std::vector<std::pair<std::string, std::string>> headers)
    : impl_(std::make_unique<impl>()) {
  auto& ws = impl_->ws;
  ws.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  ws.set_option(websocket::stream_base::decorator([headers](websocket::request_type& req) {
    for (const auto& [k, v] : headers)
      req.set(k, v);
  }));
  ws.read_message_max(64 << 20);
  websocket::response_type res;
  beast::error_code ec;
  ws.handshake(res, "127.0.0.1:" + std::to_string(port), target, ec);
  if (ec) refused_ = std::to_string(res.result_int()) + " " + res.body();
  if (ec && refused_ == "0 ") refused_ = ec.message();
}

ws_client::~ws_client() = default;

void ws_client::send(const std::string& text) {
  impl_->ws.text(true);
  impl_->ws.write(asio::buffer(text));
}

void ws_client::send_binary(const std::string& data) {
  impl_->ws.binary(true);
  impl_->ws.write(asio::buffer(data));
}

uint64_t ws_client::request(json::object op) {
  const uint64_t id = ++next_id_;
  op["id"] = id;
  send(json::serialize(op));
  return id;
}

json::value ws_client::message::json() const {
  return json::parse(data);
}

std::optional<ws_client::message> ws_client::read(std::chrono::milliseconds timeout) {
  if (closed_) return std::nullopt;
  auto& i = *impl_;
  if (!i.reading) {
    i.reading = true;
    i.done = false;
    i.ws.async_read(i.buffer, [&i](beast::error_code ec, size_t) {
      i.done = true;
      i.result = ec;
    });
  }
  i.ioc.restart();
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (!i.done && std::chrono::steady_clock::now() < until)
    i.ioc.run_one_until(until);
  if (!i.done) return std::nullopt;
  i.reading = false;
  if (i.result) {
    closed_ = true;
    close_code_ = i.ws.reason().code;
    return std::nullopt;
  }
  message m{beast::buffers_to_string(i.buffer.cdata()), i.ws.got_text()};
  i.buffer.consume(i.buffer.size());
  return m;
}

json::object ws_client::answer(uint64_t id, std::chrono::milliseconds timeout) {
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    auto m = read(std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now()));
    if (!m) break;
    auto o = m->json().as_object();
    if (o.contains("id") && o.at("id").to_number<uint64_t>() == id) return o;
    kept_.push_back(std::move(o));
  }
  throw std::runtime_error("no answer to request " + std::to_string(id));
}

std::optional<json::object> ws_client::next_deliver(std::chrono::milliseconds timeout) {
  for (auto it = kept_.begin(); it != kept_.end(); ++it)
    if (it->contains("deliver")) {
      auto o = std::move(*it);
      kept_.erase(it);
      return o;
    }
  const auto until = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < until) {
    auto m = read(std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now()));
    if (!m) return std::nullopt;
    auto o = m->json().as_object();
    if (o.contains("deliver")) return o;
    kept_.push_back(std::move(o));
  }
  return std::nullopt;
}

void ws_client::close() {
  beast::error_code ec;
  impl_->ws.close(websocket::close_code::normal, ec);
  closed_ = true;
}

void ws_client::drop() {
  beast::error_code ec;
  impl_->ws.next_layer().close(ec);
  closed_ = true;
}

}  // namespace ferry::testing
