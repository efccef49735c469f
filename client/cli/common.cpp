#include "client/cli/common.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

#include "proto/cloudevents/cloudevent.h"

namespace ferry::cli {

namespace {

// "HOST:PORT", "[v6addr]:PORT". False when malformed.
bool split_address(const std::string& s, std::string& host, uint16_t& port) {
  auto colon = s.rfind(':');
  if (colon == std::string::npos || colon == 0 || colon + 1 == s.size()) return false;
  host = s.substr(0, colon);
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  unsigned value = 0;
  const char* first = s.data() + colon + 1;
  const char* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || value == 0 || value > 65535) return false;
  port = static_cast<uint16_t>(value);
  return !host.empty();
}

}  // namespace

std::unique_ptr<client::blocking_client> connect(const globals& g, int& exit_status) {
  client::client_options opts;
  // HOST:PORT, or several separated by commas (a cluster's nodes: tried in turn); spaces
  // around an entry are dropped.
  for (size_t from = 0; from <= g.broker.size();) {
    const size_t comma = std::min(g.broker.find(',', from), g.broker.size());
    std::string one = g.broker.substr(from, comma - from);
    one.erase(0, one.find_first_not_of(' '));
    one.erase(one.find_last_not_of(' ') + 1);
    client::broker_address a;
    if (!split_address(one, a.host, a.port)) {
      exit_status =
          usage_error("--broker must be HOST:PORT[,HOST:PORT...], got '" + g.broker + "'");
      return nullptr;
    }
    opts.brokers.push_back(std::move(a));
    from = comma + 1;
  }
  opts.client_id = "ferry-cli";
  opts.creds.username = g.user;
  opts.creds.password = g.password;
  opts.creds.token = g.token;
  opts.tls.enabled = g.tls || !g.ca_file.empty() || !g.cert_file.empty();
  opts.tls.ca_file = g.ca_file;
  opts.tls.cert_file = g.cert_file;
  opts.tls.key_file = g.key_file;
  opts.request_timeout = std::chrono::milliseconds(g.timeout_ms);
  opts.connect_timeout = std::min(opts.connect_timeout, opts.request_timeout);
  auto r = client::blocking_client::connect(std::move(opts));
  if (!r) {
    exit_status = fail(r.err());
    return nullptr;
  }
  exit_status = exit_ok;
  return std::move(r.value());
}

void print_body(const client::delivery& d, bool cloudevent) {
  if (!cloudevent) {
    std::fwrite(d.payload().data(), 1, d.payload().size(), stdout);
    return;
  }
  const std::string event = cloudevents::write_structured(d.fields(), d.headers());
  std::fwrite(event.data(), 1, event.size(), stdout);
}

int fail(const error& e) {
  std::fprintf(stderr, "error: %s\n", e.to_string().c_str());
  return exit_error;
}

int usage_error(const std::string& message) {
  std::fprintf(stderr, "error: %s\n", message.c_str());
  return exit_usage;
}

bool parse_position(const std::string& s, v1::Position& out) {
  if (s == "earliest") {
    out = client::position::earliest();
    return true;
  }
  if (s == "latest") {
    out = client::position::latest();
    return true;
  }
  auto colon = s.find(':');
  if (colon == std::string::npos) return false;
  std::string kind = s.substr(0, colon);
  int64_t value = 0;
  const char* first = s.data() + colon + 1;
  const char* last = s.data() + s.size();
  auto [ptr, ec] = std::from_chars(first, last, value);
  if (ec != std::errc() || ptr != last || first == last || value < 0) return false;
  if (kind == "offset")
    out = client::position::offset(static_cast<uint64_t>(value));
  else if (kind == "time")
    out = client::position::time(value);
  else
    return false;
  return true;
}

}  // namespace ferry::cli
