#include "broker/net/acceptor.h"

namespace ferry::broker {

using boost::asio::ip::tcp;

ferry::error bind_acceptor(tcp::acceptor& acceptor, const std::string& address) {
  auto fail = [&](std::string why) {
    return ferry::error{make_error_code(errc::invalid_argument),
                        "cannot listen on '" + address + "': " + why};
  };
  auto colon = address.rfind(':');
  if (colon == std::string::npos) return fail("expected HOST:PORT");
  std::string host = address.substr(0, colon), port = address.substr(colon + 1);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  boost::system::error_code ec;
  tcp::resolver resolver(acceptor.get_executor());
  auto results =
      resolver.resolve(host, port, tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || results.empty()) return fail(ec ? ec.message() : "no address");
  tcp::endpoint ep = results.begin()->endpoint();
  acceptor.open(ep.protocol(), ec);
  if (!ec) acceptor.set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec) acceptor.bind(ep, ec);
  if (!ec) acceptor.listen(boost::asio::socket_base::max_listen_connections, ec);
  if (ec) return fail(ec.message());
  return {};
}

std::string bound_address(const tcp::acceptor& acceptor) {
  boost::system::error_code ec;
  auto ep = acceptor.local_endpoint(ec);
  if (ec) return "?";
  auto addr = ep.address();
  std::string host = addr.is_v6() ? "[" + addr.to_string() + "]" : addr.to_string();
  return host + ":" + std::to_string(ep.port());
}

}  // namespace ferry::broker
