#include "proto/cloudevents/cloudevent.h"

#include <chrono>
#include <cstdio>

#include <boost/beast/core/string.hpp>
#include <boost/json/monotonic_resource.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <boost/url/encode.hpp>
#include <boost/url/grammar/lut_chars.hpp>
#include <boost/url/parse.hpp>

#include "proto/codec/base64.h"
#include "proto/codec/text.h"
#include "proto/codec/wire.h"

namespace ferry::cloudevents {

namespace json = boost::json;

namespace {

// What a header value carries as it is (HTTP binding 3.1.3.2): printable ASCII but the
// space, '"' and '%', which are percent-encoded with everything else.
constexpr boost::urls::grammar::lut_chars header_safe([](char c) {
  return c > 0x20 && c < 0x7F && c != '"' && c != '%';
});

ferry::error fail(errc code, std::string message) {
  return {make_error_code(code), std::move(message)};
}

char lower(char c) {
  return (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
}

std::string trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t'))
    s.remove_suffix(1);
  return std::string(s);
}

// How each mode names an attribute in its errors: "ce-source", "source", "events[2].source".
struct namer {
  std::string prefix;
  std::string event = "the body";  // the event as a whole
  std::string operator()(std::string_view attribute) const {
    return prefix + std::string(attribute);
  }
};

ferry::error bad(const namer& name, std::string_view attribute, std::string what) {
  return fail(errc::invalid_argument, name(attribute) + ": " + std::move(what));
}

// A media type (RFC 2046) is printable ASCII: what an HTTP header carries as it is.
bool printable(std::string_view s) {
  for (char c : s)
    if (c < 0x20 || c > 0x7E) return false;
  return true;
}

bool uri_reference(std::string_view s) {
  return boost::urls::parse_uri_reference(s).has_value();
}

bool absolute_uri(std::string_view s) {
  return boost::urls::parse_uri(s).has_value();
}

// The attributes that are Message fields, or that the mapping itself uses: never headers.
bool reserved(std::string_view name) {
  static constexpr std::string_view names[] = {
      "specversion",     "id",           "source",      "type",       "subject", "time",
      "datacontenttype", "partitionkey", "traceparent", "expirytime", "data",    "data_base64"};
  for (auto n : names)
    if (n == name) return true;
  return false;
}

// One attribute with its value as text onto the entry; the value is kept in `out`.
ferry::error set_attribute(const namer& name, std::string_view attribute, std::string value,
                           message_batch::entry& e, message_batch& out) {
  auto& f = e.fields;
  auto required_text = [&](std::string_view& field) -> ferry::error {
    if (value.empty()) return bad(name, attribute, "must not be empty");
    field = out.keep(std::move(value));
    return {};
  };
  if (attribute == "specversion") {
    if (value != "1.0")
      return bad(name, attribute, text::quoted(value) + " is not supported (1.0 is)");
    return {};
  }
  if (attribute == "id") return required_text(f.id);
  if (attribute == "type") return required_text(f.type);
  if (attribute == "subject") return required_text(f.subject);
  if (attribute == "datacontenttype") {
    if (!printable(value)) return bad(name, attribute, "must be a media type (printable ASCII)");
    return required_text(f.content_type);
  }
  if (attribute == "traceparent") return required_text(f.traceparent);
  if (attribute == "partitionkey") return required_text(f.key);
  if (attribute == "source") {
    if (value.empty() || !uri_reference(value))
      return bad(name, attribute, "must be a non-empty URI-reference, not " + text::quoted(value));
    f.source = out.keep(std::move(value));
    return {};
  }
  if (attribute == "time" || attribute == "expirytime") {
    int64_t ms = 0;
    if (!parse_time(value, ms))
      return bad(name, attribute, "must be an RFC 3339 time, not " + text::quoted(value));
    (attribute == "time" ? f.time_ms : f.expiry_time_ms) = ms;
    return {};
  }
  if (attribute == "dataschema" && !absolute_uri(value))
    return bad(name, attribute, "must be an absolute URI, not " + text::quoted(value));
  if (!is_attribute_name(attribute))
    return bad(name, attribute,
               "is not a CloudEvents attribute name (lower-case letters and digits)");
  e.headers.push_back({out.keep(std::string(attribute)), out.keep(std::move(value))});
  return {};
}

ferry::error check_required(const namer& name, const message_batch::entry& e, bool has_version) {
  if (!has_version) return bad(name, "specversion", "missing");
  if (e.fields.id.empty()) return bad(name, "id", "missing");
  if (e.fields.source.empty()) return bad(name, "source", "missing");
  if (e.fields.type.empty()) return bad(name, "type", "missing");
  return {};
}

// One event in the JSON format (formats/json-format.md) onto `out`.
ferry::error read_object(const json::value& v, const namer& name, message_batch& out) {
  if (!v.is_object())
    return fail(errc::invalid_argument, name.event + ": a CloudEvent must be a JSON object");
  message_batch::entry e;
  bool has_version = false;
  const json::value* data = nullptr;
  const json::value* data_base64 = nullptr;
  for (const auto& [k, val] : v.as_object()) {
    const std::string_view key = k;
    if (val.is_null()) continue;  // null: as if absent
    if (key == "data") {
      data = &val;
      continue;
    }
    if (key == "data_base64") {
      data_base64 = &val;
      continue;
    }
    std::string text;
    if (val.is_string()) {
      text = std::string(val.as_string());
    } else if (val.is_number() || val.is_bool()) {
      // Extensions may be integers or booleans; the context attributes are strings.
      if (reserved(key) || key == "dataschema") return bad(name, key, "must be a string");
      text = json::serialize(val);
    } else {
      return bad(name, key, "must be a string, a number or a boolean");
    }
    if (key == "specversion") has_version = true;
    if (auto err = set_attribute(name, key, std::move(text), e, out)) return err;
  }
  if (auto err = check_required(name, e, has_version)) return err;
  if (data != nullptr && data_base64 != nullptr)
    return bad(name, "data_base64", "an event has data or data_base64, not both");
  if (data_base64 != nullptr) {
    std::string raw;
    if (!data_base64->is_string() || !codec::unbase64(data_base64->as_string(), raw))
      return bad(name, "data_base64", "must be base64 (standard alphabet, padded)");
    e.fields.payload = out.keep(std::move(raw));
  } else if (data != nullptr) {
    // Text data of a type that is not JSON is the text itself; otherwise the JSON value.
    const bool json_data = e.fields.content_type.empty() || is_json_media(e.fields.content_type);
    if (data->is_string() && !json_data) {
      e.fields.payload = out.keep(std::string(data->as_string()));
    } else {
      e.fields.payload = out.keep(json::serialize(*data));
    }
  }
  out.messages.push_back(std::move(e));
  return {};
}

ferry::error parse_json(std::string_view body, json::value& v, std::string_view what) {
  boost::system::error_code ec;
  v = json::parse(body, ec);
  if (ec) return fail(errc::invalid_argument, std::string(what) + " is not JSON: " + ec.message());
  return {};
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  c = lower(c);
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

// The CloudEvent's attributes in order, as name and text, for both writers.
template <typename Fn>
void each_attribute(const codec::message_fields& m, std::span<const codec::header_view> headers,
                    Fn&& fn) {
  fn("specversion", "1.0");
  fn("id", m.id);
  fn("source", m.source);
  fn("type", m.type);
  if (!m.subject.empty()) fn("subject", m.subject);
  if (m.time_ms != 0) fn("time", format_time(m.time_ms));
  if (!m.key.empty() && wire::valid_utf8(m.key)) fn("partitionkey", m.key);
  if (!m.traceparent.empty()) fn("traceparent", m.traceparent);
  if (m.expiry_time_ms != 0) fn("expirytime", format_time(m.expiry_time_ms));
  for (size_t i = 0; i < headers.size(); ++i) {
    const auto& h = headers[i];
    if (!is_attribute_name(h.key) || reserved(h.key) || !wire::valid_utf8(h.value)) continue;
    bool seen = false;  // a repeated header: its first value
    for (size_t j = 0; j < i && !seen; ++j)
      seen = headers[j].key == h.key;
    if (!seen) fn(h.key, h.value);
  }
}

bool textual(std::string_view content_type) {
  const std::string t = media_type(content_type);
  return t.starts_with("text/") || t == "application/xml" || t.ends_with("+xml");
}

}  // namespace

std::string media_type(std::string_view content_type) {
  std::string t = trim(content_type.substr(0, content_type.find(';')));
  for (auto& c : t)
    c = lower(c);
  return t;
}

bool is_json_media(std::string_view content_type) {
  const std::string t = media_type(content_type);
  return t == "application/json" || t == "text/json" || t.ends_with("+json");
}

bool is_binary(const header_list& headers) {
  for (const auto& [k, v] : headers)
    if (boost::beast::iequals(k, "ce-specversion")) return true;
  return false;
}

ferry::error read_binary(const header_list& headers, std::string_view body, message_batch& out) {
  const namer name{"ce-"};
  message_batch::entry e;
  bool has_version = false;
  std::vector<std::string> seen;
  for (const auto& [k, raw] : headers) {
    if (boost::beast::iequals(k, "content-type")) {
      if (!printable(raw))
        return fail(errc::invalid_argument, "Content-Type: must be a media type (printable ASCII)");
      if (!raw.empty()) e.fields.content_type = out.keep(raw);
      continue;
    }
    if (k.size() <= 3 || !boost::beast::iequals(std::string_view(k).substr(0, 3), "ce-")) continue;
    std::string attribute = k.substr(3);
    for (auto& c : attribute)
      c = lower(c);
    for (const auto& s : seen)
      if (s == attribute) return bad(name, attribute, "given twice");
    seen.push_back(attribute);
    if (attribute == "datacontenttype" || attribute == "data" || attribute == "data_base64")
      return bad(name, attribute, "not a header in binary mode (Content-Type and the body are)");
    std::string value;
    if (!decode_header_value(raw, value))
      return bad(name, attribute, "not UTF-8 once percent-decoded");
    if (attribute == "specversion") has_version = true;
    if (auto err = set_attribute(name, attribute, std::move(value), e, out)) return err;
  }
  if (auto err = check_required(name, e, has_version)) return err;
  e.fields.payload = body;
  out.messages.push_back(std::move(e));
  return {};
}

ferry::error read_structured(std::string_view body, message_batch& out) {
  json::value v;
  if (auto err = parse_json(body, v, "the body")) return err;
  return read_object(v, namer{}, out);
}

ferry::error read_batch(std::string_view body, message_batch& out) {
  json::value v;
  if (auto err = parse_json(body, v, "the body")) return err;
  if (!v.is_array())
    return fail(errc::invalid_argument, "the body: a batch of CloudEvents must be a JSON array");
  const auto& events = v.as_array();
  out.messages.reserve(out.messages.size() + events.size());
  for (size_t i = 0; i < events.size(); ++i) {
    const std::string event = "events[" + std::to_string(i) + "]";
    if (auto err = read_object(events[i], namer{event + ".", event}, out)) return err;
  }
  return {};
}

void write_binary(const codec::message_fields& m, std::span<const codec::header_view> headers,
                  header_list& out) {
  each_attribute(m, headers, [&](std::string_view name, std::string_view value) {
    out.emplace_back("ce-" + std::string(name), encode_header_value(value));
  });
  if (!m.content_type.empty() && printable(m.content_type))
    out.emplace_back("Content-Type", std::string(m.content_type));
}

namespace {

// A JSON string as Boost.JSON's serializer writes it: '"', '\\' and control characters
// escaped, everything else as it is.
void append_json_string(std::string& out, std::string_view s) {
  static constexpr char hex[] = "0123456789abcdef";
  out += '"';
  size_t plain = 0;  // the start of the run not yet copied
  for (size_t i = 0; i < s.size(); ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c >= 0x20 && c != '"' && c != '\\') continue;
    out.append(s.data() + plain, i - plain);
    plain = i + 1;
    out += '\\';
    switch (c) {
      case '"': out += '"'; break;
      case '\\': out += '\\'; break;
      case '\b': out += 'b'; break;
      case '\f': out += 'f'; break;
      case '\n': out += 'n'; break;
      case '\r': out += 'r'; break;
      case '\t': out += 't'; break;
      default: out.append("u00").append(1, hex[c >> 4]).append(1, hex[c & 15]);
    }
  }
  out.append(s.data() + plain, s.size() - plain);
  out += '"';
}

// `text` as JSON data when it is one JSON value: as it is, or on one line when it spans
// several (deliveries printed one per line stay one per line); false when it is not JSON.
template <typename Before>
bool append_json_data(std::string& out, std::string_view text, Before&& before) {
  static thread_local unsigned char arena[16384];
  json::monotonic_resource scratch(arena, sizeof arena);
  boost::system::error_code ec;
  const json::value v = json::parse(text, ec, &scratch);
  if (ec) return false;
  before();
  if (text.find_first_of("\r\n") == std::string_view::npos) {
    out += text;
  } else {
    out += json::serialize(v);
  }
  return true;
}

}  // namespace

std::string write_structured(const codec::message_fields& m,
                             std::span<const codec::header_view> headers) {
  std::string out;
  append_structured(out, m, headers);
  return out;
}

// data is the payload's JSON text as it is when it is JSON, a string for text, else
// data_base64.
void append_structured(std::string& out, const codec::message_fields& m,
                       std::span<const codec::header_view> headers) {
  char sep = '{';
  auto key = [&](std::string_view name) {
    out += sep;
    sep = ',';
    append_json_string(out, name);
    out += ':';
  };
  each_attribute(m, headers, [&](std::string_view name, std::string_view value) {
    key(name);
    append_json_string(out, value);
  });
  if (!m.content_type.empty() && printable(m.content_type)) {
    key("datacontenttype");
    append_json_string(out, m.content_type);
  }
  auto data = [&] {
    if (m.payload.empty()) return;
    const bool json_type = m.content_type.empty() || is_json_media(m.content_type);
    if (json_type && append_json_data(out, m.payload, [&] { key("data"); })) return;
    if (textual(m.content_type) && wire::valid_utf8(m.payload)) {
      key("data");
      return append_json_string(out, m.payload);
    }
    key("data_base64");
    out += '"';
    codec::append_base64(out, m.payload);
    out += '"';
  };
  data();
  out += '}';
}

bool parse_time(std::string_view s, int64_t& unix_ms) {
  // YYYY-MM-DDTHH:MM:SS[.fraction](Z|+HH:MM|-HH:MM)
  size_t at = 0;
  auto digits = [&](size_t n, int& v) {
    if (at + n > s.size()) return false;
    v = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = s[at + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    at += n;
    return true;
  };
  auto expect = [&](char a, char b = 0) {
    if (at >= s.size() || (s[at] != a && (b == 0 || s[at] != b))) return false;
    ++at;
    return true;
  };
  int y, mo, d, h, mi, sec;
  if (!digits(4, y) || !expect('-') || !digits(2, mo) || !expect('-') || !digits(2, d) ||
      !expect('T', 't') || !digits(2, h) || !expect(':') || !digits(2, mi) || !expect(':') ||
      !digits(2, sec))
    return false;
  int ms = 0;
  if (at < s.size() && s[at] == '.') {
    ++at;
    size_t n = 0;
    for (; at < s.size() && s[at] >= '0' && s[at] <= '9'; ++at, ++n)
      if (n < 3) ms = ms * 10 + (s[at] - '0');
    if (n == 0) return false;
    for (; n < 3; ++n)
      ms *= 10;
  }
  int offset_min = 0;
  if (at < s.size() && (s[at] == 'Z' || s[at] == 'z')) {
    ++at;
  } else if (at < s.size() && (s[at] == '+' || s[at] == '-')) {
    const int sign = s[at] == '-' ? -1 : 1;
    ++at;
    int oh, om;
    if (!digits(2, oh) || !expect(':') || !digits(2, om) || oh > 23 || om > 59) return false;
    offset_min = sign * (oh * 60 + om);
  } else {
    return false;
  }
  if (at != s.size()) return false;
  using namespace std::chrono;
  const year_month_day date{year{y}, month{static_cast<unsigned>(mo)},
                            day{static_cast<unsigned>(d)}};
  if (!date.ok() || h > 23 || mi > 59 || sec > 60) return false;
  if (sec == 60) sec = 59;  // a leap second: the last millisecond-precise moment before it
  const int64_t days = sys_days{date}.time_since_epoch().count();
  unix_ms = ((days * 86400 + h * 3600 + mi * 60 + sec) - int64_t{offset_min} * 60) * 1000 + ms;
  return true;
}

std::string format_time(int64_t unix_ms) {
  using namespace std::chrono;
  const sys_time<milliseconds> t{milliseconds{unix_ms}};
  const auto day_start = floor<days>(t);
  const year_month_day date{day_start};
  const hh_mm_ss<milliseconds> clock{t - day_start};
  char buf[40];
  const int n = std::snprintf(
      buf, sizeof buf, "%04d-%02u-%02uT%02d:%02d:%02d.%03dZ", static_cast<int>(date.year()),
      static_cast<unsigned>(date.month()), static_cast<unsigned>(date.day()),
      static_cast<int>(clock.hours().count()), static_cast<int>(clock.minutes().count()),
      static_cast<int>(clock.seconds().count()), static_cast<int>(clock.subseconds().count()));
  return std::string(buf, static_cast<size_t>(n));
}

std::string encode_header_value(std::string_view value) {
  return boost::urls::encode(value, header_safe);
}

bool decode_header_value(std::string_view value, std::string& out) {
  std::string unquoted;
  if (value.size() >= 2 && value.front() == '"' && value.back() == '"') {
    // RFC 7230 quoted-string: backslash escapes the next character.
    for (size_t i = 1; i + 1 < value.size(); ++i) {
      if (value[i] == '\\' && i + 2 < value.size()) ++i;
      unquoted += value[i];
    }
    value = unquoted;
  }
  out.clear();
  out.reserve(value.size());
  for (size_t i = 0; i < value.size(); ++i) {
    if (value[i] == '%' && i + 2 < value.size() && hex_value(value[i + 1]) >= 0 &&
        hex_value(value[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(value[i + 1]) * 16 + hex_value(value[i + 2]));
      i += 2;
    } else {
      out += value[i];
    }
  }
  return wire::valid_utf8(out);
}

bool is_attribute_name(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'))) return false;
  return true;
}

}  // namespace ferry::cloudevents
