// `ferry health`: asks ferryd's HTTP listener whether it is ready (GET /readyz, or --path)
// and exits 0 on a 2xx answer, 1 otherwise, printing the answer's body. The image's
// HEALTHCHECK runs it (there is no curl in the image). The address defaults to
// FERRY_HTTP_LISTEN, the variable ferryd itself reads, so both agree inside a container;
// an unspecified host (0.0.0.0, ::) means this machine. With the global --tls (or
// --ca-file), HTTPS.
#include <chrono>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>
#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include "client/cli/common.h"
#include "client/src/tls_context.h"
#include "support/tls_client.h"

namespace ferry::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
namespace ssl = asio::ssl;

struct health_args {
  std::string http = "127.0.0.1:7412";
  std::string path = "/readyz";
};

// HOST:PORT or [V6]:PORT; false when malformed.
bool split_address(const std::string& a, std::string& host, std::string& port) {
  const auto colon = a.rfind(':');
  if (colon == std::string::npos || colon + 1 == a.size()) return false;
  host = a.substr(0, colon);
  port = a.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  if (host.empty() || host == "0.0.0.0") host = "127.0.0.1";
  if (host == "::") host = "::1";
  return true;
}

struct answer {
  const char* step = "resolve";  // the step that failed, when one did
  beast::error_code failure;
  std::string detail;  // says more than `failure`, when set
  http::response<http::string_body> res;
};

// GET `path` on `stream` once connected: the answer or the step that failed.
template <typename Stream>
asio::awaitable<void> get(Stream& stream, const std::string& host, const std::string& path,
                          answer& out) {
  auto tok = asio::as_tuple(asio::use_awaitable);
  out.step = "write";
  http::request<http::empty_body> req{http::verb::get, path, 11};
  req.set(http::field::host, host);
  req.set(http::field::user_agent, "ferry-health");
  auto [wec, wn] = co_await http::async_write(stream, req, tok);
  if ((out.failure = wec)) co_return;
  out.step = "read";
  beast::flat_buffer buffer;
  auto [ec, rn] = co_await http::async_read(stream, buffer, out.res, tok);
  out.failure = ec;
}

// With `tls`, over HTTPS: the listener's certificate verified against --ca-file (else the
// system's CAs) and `host`; a client certificate with --cert-file.
asio::awaitable<void> ask(const globals& g, const std::string& host, const std::string& port,
                          const std::string& path, answer& out) {
  auto ex = co_await asio::this_coro::executor;
  auto tok = asio::as_tuple(asio::use_awaitable);
  beast::tcp_stream tcp(ex);
  tcp.expires_after(std::chrono::milliseconds(g.timeout_ms));
  auto [rec, endpoints] = co_await asio::ip::tcp::resolver(ex).async_resolve(host, port, tok);
  if ((out.failure = rec)) co_return;
  out.step = "connect";
  auto [cec, ep] = co_await tcp.async_connect(endpoints, tok);
  if ((out.failure = cec)) co_return;
  if (!g.tls && g.ca_file.empty() && g.cert_file.empty())
    co_return co_await get(tcp, host, path, out);
  client::tls_options o;
  o.ca_file = g.ca_file;
  o.cert_file = g.cert_file;
  o.key_file = g.key_file;
  std::unique_ptr<ssl::context> ctx;
  out.step = "TLS setup";
  if (auto e = client::detail::make_tls_client_context(o, ctx)) {
    out.failure = boost::system::errc::make_error_code(boost::system::errc::invalid_argument);
    out.detail = e.message;
    co_return;
  }
  beast::ssl_stream<beast::tcp_stream> stream(std::move(tcp), *ctx);
  tls_client::expect_server(stream, host);
  out.step = "TLS handshake";
  auto [hec] = co_await stream.async_handshake(ssl::stream_base::client, tok);
  if ((out.failure = hec)) co_return;
  co_await get(stream, host, path, out);
}

int run_health(const globals& g, const health_args& a) {
  std::string host, port;
  if (!split_address(a.http, host, port)) return usage_error("--http: expected HOST:PORT");
  if (a.path.empty() || a.path.front() != '/') return usage_error("--path must start with /");
  asio::io_context ioc;
  answer out;
  asio::co_spawn(ioc, ask(g, host, port, a.path, out), asio::detached);
  ioc.run();
  if (out.failure) {
    const bool tls = g.tls || !g.ca_file.empty() || !g.cert_file.empty();
    std::cerr << "error: UNAVAILABLE: " << out.step << (tls ? " https://" : " http://") << a.http
              << a.path << ": " << (out.detail.empty() ? out.failure.message() : out.detail)
              << "\n";
    return exit_error;
  }
  const auto& res = out.res;
  std::cout << res.result_int() << " " << res.body();
  if (!res.body().empty() && res.body().back() != '\n') std::cout << "\n";
  return res.result_int() / 100 == 2 ? exit_ok : exit_error;
}

}  // namespace

void add_health_command(CLI::App& app, context& ctx) {
  auto args = std::make_shared<health_args>();
  auto* cmd = app.add_subcommand(
      "health", "ask ferryd's HTTP listener whether it is ready: exit 0 when it answers 2xx");
  cmd->add_option("--http", args->http, "HTTP listener HOST:PORT (env FERRY_HTTP_LISTEN)")
      ->envname("FERRY_HTTP_LISTEN")
      ->capture_default_str();
  cmd->add_option("--path", args->path, "path to ask (/readyz, /livez)")->capture_default_str();
  cmd->callback([&ctx, args] { ctx.run = [&ctx, args] { return run_health(ctx.g, *args); }; });
}

}  // namespace ferry::cli
