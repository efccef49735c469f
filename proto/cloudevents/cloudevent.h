// cloudevent: CloudEvents 1.0 (github.com/cloudevents/spec) to and from ferry.v1.Message.
// The context attributes are Message fields (id, source, type, subject, time,
// datacontenttype, and the extensions partitionkey -> key, traceparent, expirytime); every
// other attribute (dataschema, tracestate, any extension) is a header named as the
// attribute, with its value as text. The HTTP binding's modes are read (binary: ce-*
// headers and the body as data; structured: one JSON object; batched: an array of them)
// and written (binary, structured). Pure: no sockets. The broker reads and writes events
// with it; the CLI prints deliveries as events with it. docs/HTTP.md has the table.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "proto/codec/errc.h"
#include "proto/codec/frame_codec.h"

namespace ferry::cloudevents {

using header_list = std::vector<std::pair<std::string, std::string>>;

// Messages read from a request: fields and headers are views into the request's body or
// into strings the reading made (kept here, in a deque so that they never move).
struct message_batch {
  struct entry {
    codec::message_fields fields;
    std::vector<codec::header_view> headers;
  };
  std::vector<entry> messages;
  std::deque<std::string> owned;

  std::string_view keep(std::string s) { return owned.emplace_back(std::move(s)); }
};

// The media type of a Content-Type value, lower case, without parameters.
std::string media_type(std::string_view content_type);
bool is_json_media(std::string_view content_type);  // application/json, text/json, */*+json
inline constexpr std::string_view structured_media = "application/cloudevents+json";
inline constexpr std::string_view batch_media = "application/cloudevents-batch+json";

// Whether a request is an event in binary mode: it has a ce-specversion header.
bool is_binary(const header_list& headers);

// Each appends what it read to `out.messages`; INVALID_ARGUMENT naming the attribute (as
// the mode spells it: "ce-source" in binary mode, "source" in JSON, "events[2].source" in
// a batch) when an attribute is missing, malformed or not of the right type.
ferry::error read_binary(const header_list& headers, std::string_view body, message_batch& out);
ferry::error read_structured(std::string_view body, message_batch& out);
ferry::error read_batch(std::string_view body, message_batch& out);

// A message as a CloudEvent. Headers whose names are not attribute names (lower-case
// letters and digits), or whose values are not UTF-8, are not part of it.
// Binary mode: the ce-* headers (values percent-encoded as the binding says) and
// Content-Type (datacontenttype); the payload is the body.
void write_binary(const codec::message_fields& m, std::span<const codec::header_view> headers,
                  header_list& out);
// Structured mode: the JSON object. data is JSON when the content type is JSON (or absent
// and the payload parses), a string for text, else data_base64.
std::string write_structured(const codec::message_fields& m,
                             std::span<const codec::header_view> headers);
// The same, appended to `out` (no intermediate copies: for many events in one message).
void append_structured(std::string& out, const codec::message_fields& m,
                       std::span<const codec::header_view> headers);

// What a message published without them gets as an event: source "/topics/<topic>", type
// "ferry.message", and the id `make_id()` returns (the deliverer's: the same on every
// redelivery). Made strings are kept in `kept`.
struct made_attributes {
  std::string id, source;
};
template <typename MakeId>
void complete_required(codec::message_fields& f, std::string_view topic, MakeId make_id,
                       made_attributes& kept) {
  if (f.id.empty()) f.id = kept.id = make_id();
  if (f.source.empty()) f.source = kept.source = "/topics/" + std::string(topic);
  if (f.type.empty()) f.type = "ferry.message";
}

// RFC 3339 times and Unix milliseconds (finer digits are cut; written in UTC with
// milliseconds: 2026-12-07T09:30:00.250Z).
bool parse_time(std::string_view text, int64_t& unix_ms);
std::string format_time(int64_t unix_ms);

// A header value as the binding writes it (space, '"', '%' and all but printable ASCII
// as %XX) and reads it (a quoted string unquoted, then %XX decoded; false if the result
// is not UTF-8).
std::string encode_header_value(std::string_view value);
bool decode_header_value(std::string_view value, std::string& out);

// An attribute name: lower-case letters and digits (the spec asks for at most 20; up to 64
// are taken).
bool is_attribute_name(std::string_view name);

}  // namespace ferry::cloudevents
