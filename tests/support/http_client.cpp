#include "tests/support/http_client.h"

#include <stdexcept>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/string.hpp>
#include <boost/beast/http.hpp>
#include <boost/json/parse.hpp>

namespace ferry::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using asio::ip::tcp;

std::string http_result::header(const std::string& name) const {
  for (const auto& [k, v] : headers)
    if (beast::iequals(k, name)) return v;
  return {};
}

boost::json::value http_result::json() const {
  return boost::json::parse(body);
}

std::string http_result::error_code() const {
  std::error_code ec;
  auto v = boost::json::parse(body, ec);
  if (ec || !v.is_object()) return {};
  const auto* e = v.as_object().if_contains("error");
  if (!e || !e->is_object()) return {};
  const auto* c = e->as_object().if_contains("code");
  return c && c->is_string() ? std::string(c->as_string()) : std::string();
}

namespace {

// A bounded wait: the receive timeout of the socket (a read past it fails).
void set_receive_timeout(tcp::socket& s, std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000),
             static_cast<suseconds_t>((timeout.count() % 1000) * 1000)};
  ::setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
}

}  // namespace

struct http_connection::impl {
  asio::io_context ioc;
  tcp::socket socket{ioc};
  beast::flat_buffer buffer;

  explicit impl(uint16_t port) {
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
  }
};

http_connection::http_connection(uint16_t port) : impl_(std::make_unique<impl>(port)) {}
http_connection::~http_connection() = default;

http_result http_connection::call(const std::string& method, const std::string& target,
                                  const std::string& body) {
  http::request<http::string_body> req{http::string_to_verb(method), target, 11};
  req.set(http::field::host, "127.0.0.1");
  if (!body.empty()) req.set(http::field::content_type, "application/json");
  req.body() = body;
  req.prepare_payload();
  http::write(impl_->socket, req);
  return read_response();
}

void http_connection::send_raw(const std::string& bytes) {
  asio::write(impl_->socket, asio::buffer(bytes));
}

http_result http_connection::read_response(std::chrono::milliseconds timeout) {
  set_receive_timeout(impl_->socket, timeout);
  http::response<http::string_body> res;
  http::read(impl_->socket, impl_->buffer, res);
  http_result out;
  out.status = res.result_int();
  out.body = res.body();
  for (const auto& f : res)
    out.headers.emplace_back(std::string(f.name_string()), std::string(f.value()));
  return out;
}

bool http_connection::closed_by_peer(std::chrono::milliseconds timeout) {
  set_receive_timeout(impl_->socket, timeout);
  char tmp[4096];
  for (;;) {
    boost::system::error_code ec;
    impl_->socket.read_some(asio::buffer(tmp), ec);
    if (ec == asio::error::eof || ec == asio::error::connection_reset) return true;
    if (ec) return false;  // timed out
  }
}

double metric_sample(const std::string& scrape, const std::string& series) {
  size_t at = 0;
  while ((at = scrape.find(series + " ", at)) != std::string::npos) {
    if (at == 0 || scrape[at - 1] == '\n') return std::stod(scrape.substr(at + series.size() + 1));
    at += series.size();
  }
  return -1;
}

http_result http_call(uint16_t port, const std::string& method, const std::string& target,
                      const std::string& body,
                      std::vector<std::pair<std::string, std::string>> headers) {
  http_connection c(port);
  if (headers.empty()) return c.call(method, target, body);
  std::string raw = method + " " + target + " HTTP/1.1\r\nHost: 127.0.0.1\r\n";
  for (const auto& [k, v] : headers)
    raw += k + ": " + v + "\r\n";
  raw += "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
  c.send_raw(raw);
  return c.read_response();
}

}  // namespace ferry::testing
