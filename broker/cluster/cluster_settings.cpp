#include "broker/cluster/cluster_settings.h"

#include <charconv>

namespace ferry::broker {

namespace {

bool parse_endpoint(std::string_view e, etcd_endpoint& out) {
  if (e.starts_with("http://")) e.remove_prefix(7);
  while (e.ends_with('/'))
    e.remove_suffix(1);
  const auto colon = e.rfind(':');
  if (colon == std::string_view::npos || colon == 0 || colon + 1 == e.size()) return false;
  std::string_view host = e.substr(0, colon), port = e.substr(colon + 1);
  unsigned n = 0;
  auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), n);
  if (ec != std::errc() || end != port.data() + port.size() || n == 0 || n > 65535) return false;
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  if (host.empty() || host.find_first_of("/ ") != std::string_view::npos) return false;
  out = {std::string(host), std::string(port)};
  return true;
}

}  // namespace

std::string parse_etcd_endpoints(std::string_view list, std::vector<etcd_endpoint>& out) {
  out.clear();
  while (true) {
    const auto comma = list.find(',');
    const std::string_view one = list.substr(0, comma);
    etcd_endpoint ep;
    if (!parse_endpoint(one, ep))
      return "'" + std::string(one) + "' is not an etcd endpoint (http://HOST:PORT or HOST:PORT)";
    out.push_back(std::move(ep));
    if (comma == std::string_view::npos) return {};
    list.remove_prefix(comma + 1);
  }
}

std::string node_id_of_hostname(std::string_view host, uint32_t& id) {
  const auto dash = host.rfind('-');
  const std::string_view digits = dash == std::string_view::npos ? "" : host.substr(dash + 1);
  uint32_t ordinal = 0;
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), ordinal);
  if (digits.empty() || ec != std::errc() || end != digits.data() + digits.size() ||
      ordinal >= 0x7fffffff)
    return "host name '" + std::string(host) +
           "' does not end in -ORDINAL (as a StatefulSet's pods are named)";
  id = ordinal + 1;
  return {};
}

}  // namespace ferry::broker
