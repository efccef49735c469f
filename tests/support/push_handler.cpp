#include "tests/support/push_handler.h"

#include <atomic>
#include <condition_variable>
#include <thread>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/asio/ssl/stream.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/http.hpp>

namespace ferry::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::string push_handler::request::header(const std::string& lower_name) const {
  auto it = headers.find(lower_name);
  return it == headers.end() ? std::string() : it->second;
}

struct push_handler::impl {
  impl(policy p, const tls_files& files)
      : answer_for(std::move(p)), acceptor(ioc, {asio::ip::make_address("127.0.0.1"), 0}) {
    if (files.cert_file.empty()) return;
    tls = std::make_unique<asio::ssl::context>(asio::ssl::context::tls_server);
    tls->use_certificate_chain_file(files.cert_file);
    tls->use_private_key_file(files.key_file, asio::ssl::context::pem);
  }

  policy answer_for;
  std::unique_ptr<asio::ssl::context> tls;
  asio::io_context ioc;
  tcp::acceptor acceptor;
  std::thread accepting;
  std::vector<std::thread> serving;
  std::vector<std::shared_ptr<tcp::socket>> sockets;
  std::atomic<bool> stopping{false};
  mutable std::mutex m;
  mutable std::condition_variable cv;
  std::vector<request> seen;
  size_t current = 0, peak = 0;

  void accept_loop() {
    for (;;) {
      auto s = std::make_shared<tcp::socket>(ioc);
      boost::system::error_code ec;
      acceptor.accept(*s, ec);
      if (ec || stopping) return;
      std::lock_guard lock(m);
      sockets.push_back(s);
      serving.emplace_back([this, s] {
        if (!tls) return serve(*s);
        asio::ssl::stream<tcp::socket&> secure(*s, *tls);
        boost::system::error_code hs;
        secure.handshake(asio::ssl::stream_base::server, hs);
        if (!hs) serve(secure);  // a client that refuses our certificate ends here
      });
    }
  }

  template <typename Stream>
  void serve(Stream& s) {
    beast::flat_buffer buf;
    for (;;) {
      http::request<http::string_body> req;
      boost::system::error_code ec;
      http::read(s, buf, req, ec);
      if (ec || stopping) return;
      request r;
      r.target = std::string(req.target());
      for (const auto& f : req) {
        std::string name(f.name_string());
        for (auto& c : name)
          c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
        r.headers[name] = std::string(f.value());
      }
      r.body = req.body();
      r.at = std::chrono::steady_clock::now();
      size_t index;
      {
        std::lock_guard lock(m);
        index = seen.size();
        seen.push_back(r);
        peak = std::max(peak, ++current);
      }
      cv.notify_all();
      const answer a = answer_for ? answer_for(r, index) : answer{};
      if (a.delay.count() > 0) std::this_thread::sleep_for(a.delay);
      {
        std::lock_guard lock(m);
        --current;
      }
      http::response<http::string_body> res{static_cast<http::status>(a.status), 11};
      if (!a.retry_after.empty()) res.set(http::field::retry_after, a.retry_after);
      res.body() = a.status / 100 == 2 ? "ok" : "handler says no";
      res.keep_alive(req.keep_alive());
      res.prepare_payload();
      http::write(s, res, ec);
      if (ec || !req.keep_alive()) return;
    }
  }
};

push_handler::push_handler(policy p, tls_files tls)
    : impl_(std::make_unique<impl>(std::move(p), tls)) {
  impl_->accepting = std::thread([this] { impl_->accept_loop(); });
}

push_handler::~push_handler() {
  impl_->stopping = true;
  boost::system::error_code ec;
  {
    tcp::socket wake(impl_->ioc);  // a blocked accept() returns to see `stopping`
    wake.connect(impl_->acceptor.local_endpoint(), ec);
  }
  impl_->accepting.join();
  impl_->acceptor.close(ec);
  {
    std::lock_guard lock(impl_->m);
    for (auto& s : impl_->sockets)
      s->shutdown(tcp::socket::shutdown_both, ec);  // a blocked read() returns
  }
  for (auto& t : impl_->serving)
    t.join();
}

uint16_t push_handler::port() const {
  return impl_->acceptor.local_endpoint().port();
}

std::string push_handler::url(const std::string& path) const {
  return std::string(impl_->tls ? "https" : "http") + "://127.0.0.1:" + std::to_string(port()) +
         path;
}

std::vector<push_handler::request> push_handler::requests() const {
  std::lock_guard lock(impl_->m);
  return impl_->seen;
}

size_t push_handler::count() const {
  std::lock_guard lock(impl_->m);
  return impl_->seen.size();
}

size_t push_handler::max_concurrent() const {
  std::lock_guard lock(impl_->m);
  return impl_->peak;
}

bool push_handler::wait_for(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(impl_->m);
  return impl_->cv.wait_for(lock, timeout, [&] { return impl_->seen.size() >= n; });
}

}  // namespace ferry::testing
