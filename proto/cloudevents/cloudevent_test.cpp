// CloudEvents <-> Message: the attribute mapping, each mode's refusals naming the attribute,
// the header encoding of the HTTP binding (its own example), RFC 3339 times, and a
// property: any message written as an event (either mode) reads back as the same message.
#include "proto/cloudevents/cloudevent.h"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>
#include <rapidcheck.h>
#include <rapidcheck/catch.h>

namespace ce = ferry::cloudevents;
using ferry::codec::header_view;
using ferry::codec::message_fields;

namespace {

std::string error_of(const ferry::error& e) {
  return e ? e.message : std::string();
}

ce::message_batch read_one_binary(const ce::header_list& h, std::string_view body) {
  ce::message_batch b;
  auto err = ce::read_binary(h, body, b);
  INFO(error_of(err));
  REQUIRE_FALSE(err);
  REQUIRE(b.messages.size() == 1);
  return b;
}

ce::header_list minimal_binary() {
  return {{"ce-specversion", "1.0"},
          {"ce-id", "42"},
          {"ce-source", "/login"},
          {"ce-type", "user.login"}};
}

std::string header_value(const std::vector<header_view>& h, std::string_view key) {
  for (const auto& x : h)
    if (x.key == key) return std::string(x.value);
  return "<none>";
}

}  // namespace

TEST_CASE("RFC 3339 times read to the millisecond, in any offset, and are written in UTC",
          "[cloudevents]") {
  int64_t ms = 0;
  REQUIRE(ce::parse_time("2018-04-05T17:31:00Z", ms));
  CHECK(ms == 1522949460000);
  CHECK(ce::format_time(ms) == "2018-04-05T17:31:00.000Z");
  REQUIRE(ce::parse_time("2018-04-05T19:31:00.123456+02:00", ms));
  CHECK(ce::format_time(ms) == "2018-04-05T17:31:00.123Z");
  REQUIRE(ce::parse_time("1969-12-31t23:59:59.5z", ms));
  CHECK(ms == -500);
  CHECK(ce::format_time(ms) == "1969-12-31T23:59:59.500Z");
  REQUIRE(ce::parse_time("2024-02-29T00:00:00Z", ms));
  for (const char* bad :
       {"2023-02-29T00:00:00Z", "2018-13-05T17:31:00Z", "2018-04-05 17:31:00Z",
        "2018-04-05T17:31:00", "2018-04-05T24:00:00Z", "2018-04-05T17:31:00.Z",
        "2018-04-05T17:31:00+0200", "2018-4-05T17:31:00Z", "", "2018-04-05T17:31:00Zjunk"})
    CHECK_FALSE(ce::parse_time(bad, ms));
}

TEST_CASE("header values are percent-encoded as the HTTP binding says, and decoded strictly",
          "[cloudevents]") {
  // The binding's own example: "Euro € 😀".
  CHECK(ce::encode_header_value("Euro \xE2\x82\xAC \xF0\x9F\x98\x80") ==
        "Euro%20%E2%82%AC%20%F0%9F%98%80");
  CHECK(ce::encode_header_value("100% \"sure\"") == "100%25%20%22sure%22");
  std::string out;
  REQUIRE(ce::decode_header_value("Euro%20%e2%82%ac%20%F0%9F%98%80", out));
  CHECK(out == "Euro \xE2\x82\xAC \xF0\x9F\x98\x80");
  REQUIRE(ce::decode_header_value("\"a \\\"quoted\\\" value\"", out));
  CHECK(out == "a \"quoted\" value");
  REQUIRE(ce::decode_header_value("50%", out));  // not an escape: kept
  CHECK(out == "50%");
  CHECK_FALSE(ce::decode_header_value("%C0%A0", out));  // overlong: must be refused
  CHECK_FALSE(ce::decode_header_value("\xFF", out));
}

TEST_CASE("binary mode: ce-* headers are attributes, Content-Type the data's type",
          "[cloudevents]") {
  auto h = minimal_binary();
  h.insert(h.end(), {{"Content-Type", "application/json"},
                     {"CE-Subject", "alice%20smith"},
                     {"ce-time", "2018-04-05T17:31:00Z"},
                     {"ce-partitionkey", "alice"},
                     {"ce-traceparent", "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"},
                     {"ce-expirytime", "2018-04-06T17:31:00Z"},
                     {"ce-dataschema", "https://example.com/login.json"},
                     {"ce-region", "eu"},
                     {"x-other", "not an attribute"}});
  auto b = read_one_binary(h, R"({"user":"alice"})");
  const auto& m = b.messages[0];
  CHECK(m.fields.id == "42");
  CHECK(m.fields.source == "/login");
  CHECK(m.fields.type == "user.login");
  CHECK(m.fields.subject == "alice smith");
  CHECK(m.fields.time_ms == 1522949460000);
  CHECK(m.fields.expiry_time_ms == 1522949460000 + 86400000);
  CHECK(m.fields.key == "alice");
  CHECK(m.fields.traceparent == "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01");
  CHECK(m.fields.content_type == "application/json");
  CHECK(m.fields.payload == R"({"user":"alice"})");
  CHECK(m.headers.size() == 2);
  CHECK(header_value(m.headers, "dataschema") == "https://example.com/login.json");
  CHECK(header_value(m.headers, "region") == "eu");
}

TEST_CASE("binary mode: a missing or malformed attribute is refused by its header's name",
          "[cloudevents]") {
  auto refusal = [](ce::header_list h) {
    ce::message_batch b;
    return error_of(ce::read_binary(h, "", b));
  };
  for (const char* required : {"ce-specversion", "ce-id", "ce-source", "ce-type"}) {
    auto h = minimal_binary();
    std::erase_if(h, [&](const auto& kv) { return kv.first == required; });
    // Without ce-specversion it is not an event in binary mode at all; the reader still
    // names what is missing.
    CHECK(refusal(h) == std::string(required) + ": missing");
  }
  auto with = [](std::string k, std::string v) {
    auto h = minimal_binary();
    for (auto& kv : h)
      if (kv.first == k) {
        kv.second = v;
        return h;
      }
    h.emplace_back(k, v);
    return h;
  };
  CHECK(refusal(with("ce-specversion", "0.3")).starts_with("ce-specversion: '0.3' is not"));
  CHECK(refusal(with("ce-id", "")) == "ce-id: must not be empty");
  CHECK(refusal(with("ce-source", "a b")).starts_with("ce-source: must be a non-empty URI"));
  CHECK(refusal(with("ce-time", "yesterday")).starts_with("ce-time: must be an RFC 3339"));
  CHECK(refusal(with("ce-dataschema", "relative/path")).starts_with("ce-dataschema: must be an"));
  CHECK(refusal(with("ce-my_ext", "x")).starts_with("ce-my_ext: is not a CloudEvents attribute"));
  CHECK(refusal(with("ce-subject", "%FF")) == "ce-subject: not UTF-8 once percent-decoded");
  CHECK(refusal(with("ce-datacontenttype", "text/plain")).starts_with("ce-datacontenttype: not"));
  auto twice = minimal_binary();
  twice.emplace_back("CE-ID", "43");
  CHECK(refusal(twice) == "ce-id: given twice");
}

TEST_CASE("structured mode: data by content type, data_base64, extensions of any scalar type",
          "[cloudevents]") {
  auto read = [](std::string body) {
    ce::message_batch b;
    auto err = ce::read_structured(body, b);
    INFO(error_of(err));
    REQUIRE_FALSE(err);
    REQUIRE(b.messages.size() == 1);
    return b;
  };
  const std::string head = R"({"specversion":"1.0","id":"1","source":"s","type":"t",)";
  auto json_data = read(head + R"("data":{"a":[1,2]},"count":5,"flag":true,"gone":null})");
  CHECK(json_data.messages[0].fields.payload == R"({"a":[1,2]})");
  CHECK(json_data.messages[0].fields.content_type.empty());
  CHECK(header_value(json_data.messages[0].headers, "count") == "5");
  CHECK(header_value(json_data.messages[0].headers, "flag") == "true");
  CHECK(header_value(json_data.messages[0].headers, "gone") == "<none>");
  auto text = read(head + R"("datacontenttype":"text/plain","data":"hello"})");
  CHECK(text.messages[0].fields.payload == "hello");
  auto json_string = read(head + R"("datacontenttype":"application/json","data":"hello"})");
  CHECK(json_string.messages[0].fields.payload == "\"hello\"");
  auto raw = read(head + R"("datacontenttype":"application/octet-stream","data_base64":"AAEC"})");
  CHECK(raw.messages[0].fields.payload == std::string("\0\1\2", 3));

  auto refusal = [](std::string body) {
    ce::message_batch b;
    return error_of(ce::read_structured(body, b));
  };
  CHECK(refusal("[").starts_with("the body is not JSON"));
  CHECK(refusal("[]") == "the body: a CloudEvent must be a JSON object");
  CHECK(refusal(R"({"specversion":"1.0","id":"1","type":"t"})") == "source: missing");
  CHECK(refusal(head + R"("data":1,"data_base64":"AA=="})").starts_with("data_base64: an event"));
  CHECK(refusal(head + R"("data_base64":"not base64!"})").starts_with("data_base64: must be"));
  CHECK(refusal(head + R"("ext":{"a":1}})").starts_with("ext: must be a string, a number"));
  CHECK(refusal(R"({"specversion":1.0,"id":"1","source":"s","type":"t"})") ==
        "specversion: must be a string");
  CHECK(refusal(head + R"("Bad":"x"})").starts_with("Bad: is not a CloudEvents attribute"));
}

TEST_CASE("batched mode: an array of events, refused whole with the event's index",
          "[cloudevents]") {
  ce::message_batch b;
  REQUIRE_FALSE(ce::read_batch("[]", b));
  CHECK(b.messages.empty());
  const std::string ok = R"({"specversion":"1.0","id":"1","source":"s","type":"t"})";
  REQUIRE_FALSE(ce::read_batch("[" + ok + "," + ok + "]", b));
  CHECK(b.messages.size() == 2);
  ce::message_batch c;
  CHECK(error_of(ce::read_batch("[" + ok + R"(,{"specversion":"1.0","id":"2","type":"t"}])", c)) ==
        "events[1].source: missing");
  CHECK(error_of(ce::read_batch(ok, c)) == "the body: a batch of CloudEvents must be a JSON array");
  CHECK(error_of(ce::read_batch("[1]", c)) == "events[0]: a CloudEvent must be a JSON object");
}

TEST_CASE("written as an event in either mode, a message reads back as the same message",
          "[cloudevents]") {
  // Attribute texts: printable, with spaces, quotes, percents and non-ASCII characters.
  auto text = rc::gen::container<std::string>(
      rc::gen::element<char>('a', 'Z', '0', ' ', '"', '%', '\xC3', '.', '/', '-'));
  auto utf8 = rc::gen::map(text, [](std::string s) {
    std::string out;  // a lone 0xC3 becomes "é" (0xC3 0xA9): valid UTF-8
    for (char c : s) {
      out += c;
      if (c == '\xC3') out += '\xA9';
    }
    return out;
  });
  auto nonempty = rc::gen::nonEmpty(utf8);
  rc::prop("structured and binary round trips", [&] {
    const std::string id = *nonempty, type = *nonempty, subject = *utf8, key = *utf8;
    const std::string source =
        "/src/" + *rc::gen::container<std::string>(rc::gen::element<char>('a', 'b', '-', '_', '.'));
    const std::string ext_value = *utf8;
    const std::string payload = *rc::gen::arbitrary<std::string>();
    const int64_t time = *rc::gen::inRange<int64_t>(-2'000'000'000'000, 4'000'000'000'000);
    message_fields m;
    m.id = id;
    m.source = source;
    m.type = type;
    m.subject = subject;
    m.key = key;
    m.time_ms = time;
    m.content_type = "application/octet-stream";
    m.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    m.payload = payload;
    std::vector<header_view> headers{{"region", ext_value}};

    auto check_same = [&](const ce::message_batch& b) {
      RC_ASSERT(b.messages.size() == 1u);
      const auto& f = b.messages[0].fields;
      RC_ASSERT(f.id == m.id);
      RC_ASSERT(f.source == m.source);
      RC_ASSERT(f.type == m.type);
      RC_ASSERT(f.subject == m.subject);
      RC_ASSERT(f.key == m.key);
      RC_ASSERT(f.time_ms == m.time_ms);
      RC_ASSERT(f.content_type == m.content_type);
      RC_ASSERT(f.traceparent == m.traceparent);
      RC_ASSERT(f.payload == m.payload);
      const auto& h = b.messages[0].headers;
      RC_ASSERT(h.size() == (ext_value.empty() ? 0u : 1u));
      if (!ext_value.empty()) RC_ASSERT(h[0].value == ext_value);
    };
    // An empty extension is still an attribute in JSON, but not a header worth sending.
    if (ext_value.empty()) headers.clear();
    ce::message_batch s;
    const auto err = ce::read_structured(ce::write_structured(m, headers), s);
    RC_ASSERT(!err);
    check_same(s);
    ce::header_list h;
    ce::write_binary(m, headers, h);
    ce::message_batch b;
    const auto berr = ce::read_binary(h, m.payload, b);
    RC_ASSERT(!berr);
    check_same(b);
  });
}

TEST_CASE(
    "structured mode writes JSON data as sent, on one line, text as a string, bytes as "
    "data_base64",
    "[cloudevents]") {
  message_fields m;
  m.id = "e-1";
  m.source = "/s";
  m.type = "t";
  m.subject = "a \"quoted\"\tsubject\x01";
  m.payload = R"({"a": [1, 2]})";
  CHECK(ce::write_structured(m, {}) ==
        R"({"specversion":"1.0","id":"e-1","source":"/s","type":"t",)"
        R"("subject":"a \"quoted\"\tsubject\u0001","data":{"a": [1, 2]}})");
  m.payload = "{\n  \"a\": 1\n}";  // pretty-printed: one line, as Boost.JSON writes it
  CHECK(ce::write_structured(m, {}).ends_with(R"("data":{"a":1}})"));
  m.content_type = "text/plain";
  m.payload = "line one\nline two";
  CHECK(ce::write_structured(m, {}).ends_with(
      R"("datacontenttype":"text/plain","data":"line one\nline two"})"));
  m.content_type = "";
  m.payload = "not json";
  CHECK(ce::write_structured(m, {}).ends_with(R"("data_base64":"bm90IGpzb24="})"));
  std::string two = "[";
  ce::append_structured(two, m, {});
  two += ",";
  ce::append_structured(two, m, {});
  two += "]";
  CHECK(boost::json::parse(two).as_array().size() == 2);
}
