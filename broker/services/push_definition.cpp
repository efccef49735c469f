#include "broker/services/push_definition.h"

#include <cctype>

#include <boost/url/parse.hpp>

#include "broker/core/errors.h"

namespace ferry::broker {

namespace {

// An HTTP header name (RFC 9110 token).
bool token(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    std::string_view("!#$%&'*+-.^_`|~").find(c) != std::string_view::npos;
    if (!ok) return false;
  }
  return true;
}

// Headers the broker writes itself: the message's framing and the event (ce-*, ferry-*,
// Content-Type). An endpoint's own headers may not replace them.
bool reserved_header(std::string_view name) {
  std::string n(name);
  for (auto& c : n)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  static constexpr std::string_view framing[] = {
      "host",       "content-length", "transfer-encoding",
      "connection", "content-type",   "expect",
      "te",         "trailer",        "upgrade"};
  for (auto f : framing)
    if (n == f) return true;
  return n.starts_with("ce-") || n.starts_with("ferry-");
}

bool header_value(std::string_view s) {
  for (char c : s)
    if ((c < 0x20 && c != '\t') || c == 0x7F) return false;
  return true;
}

ferry::error bad(std::string what) {
  return fail(errc::invalid_argument, "push: " + std::move(what));
}

}  // namespace

ferry::error resolve_push(const v1::PushEndpoint& in, push_settings& out) {
  out = push_settings{};
  auto url = boost::urls::parse_uri(in.url());
  if (!url) return bad("url " + quoted(in.url()) + " is not an absolute URI");
  if (url->scheme() != "http" && url->scheme() != "https")
    return bad("url " + quoted(in.url()) + ": the scheme must be http or https");
  if (url->host().empty()) return bad("url " + quoted(in.url()) + " names no host");
  if (url->has_userinfo()) return bad("url: credentials go in a header, not the URL");
  if (url->has_fragment()) return bad("url: a fragment is not sent; leave it out");
  out.url = in.url();
  out.host = url->host_address();
  out.tls = url->scheme() == "https";
  out.port = url->has_port() ? std::string(url->port()) : out.tls ? "443" : "80";
  out.target = std::string(url->encoded_target());
  if (out.target.empty() || out.target.front() != '/') out.target.insert(0, "/");
  for (const auto& h : in.headers()) {
    if (!token(h.name())) return bad("header name " + quoted(h.name()) + " is not an HTTP token");
    if (reserved_header(h.name()))
      return bad("header " + quoted(h.name()) + " is the broker's to write (framing, the event)");
    if (!header_value(h.value()))
      return bad("header " + quoted(h.name()) + ": control characters in its value");
    out.headers.emplace_back(h.name(), h.value());
  }
  auto pick = [](uint32_t v, uint32_t d) { return v == 0 ? d : v; };
  out.timeout_ms = pick(in.timeout_ms(), out.timeout_ms);
  out.max_in_flight = pick(in.max_in_flight(), out.max_in_flight);
  out.min_backoff_ms = pick(in.min_backoff_ms(), out.min_backoff_ms);
  out.max_backoff_ms = pick(in.max_backoff_ms(), out.max_backoff_ms);
  out.structured = in.structured();
  if (out.timeout_ms > 300'000) return bad("timeout_ms is at most 300000");
  if (out.max_in_flight > 1000) return bad("max_in_flight is at most 1000");
  if (out.max_backoff_ms > 3'600'000) return bad("max_backoff_ms is at most 3600000");
  if (out.min_backoff_ms > out.max_backoff_ms) return bad("min_backoff_ms is above max_backoff_ms");
  return {};
}

}  // namespace ferry::broker
