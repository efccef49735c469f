#include "broker/http/publish_input.h"

#include <charconv>

#include "ferry/v1/publish.pb.h"

#include "broker/core/errors.h"
#include "broker/http/proto_json.h"
#include "proto/codec/text.h"

namespace ferry::broker {

namespace {

// A ferry-* header, or the query parameter of the same meaning.
std::optional<std::string> option(const http_request& req, std::string_view header,
                                  std::string_view param) {
  if (auto v = req.header(header); !v.empty()) return std::string(v);
  if (const std::string* q = req.query_param(param)) return *q;
  return std::nullopt;
}

template <typename T>
ferry::error number_option(const http_request& req, std::string_view header, std::string_view param,
                           std::optional<T>& out) {
  const auto v = option(req, header, param);
  if (!v) return {};
  T n{};
  auto [end, ec] = std::from_chars(v->data(), v->data() + v->size(), n);
  if (ec != std::errc() || end != v->data() + v->size())
    return fail(errc::invalid_argument, std::string(header) + " (or ?" + std::string(param) +
                                            "): expected a non-negative integer, not " +
                                            text::quoted(*v));
  out = n;
  return {};
}

// The JSON form: a ferry.v1.Publish whose messages become entries with views into it.
ferry::error read_publish_json(const http_request& req, publish_input& out) {
  out.json = std::make_shared<v1::Publish>();
  v1::Publish& p = *out.json;
  if (auto err = from_json_text(req.body, p)) return err;
  if (!p.topic().empty() && p.topic() != req.params.at(0))
    return fail(errc::invalid_argument, "field 'topic': " + text::quoted(p.topic()) +
                                            " is not the topic of the path; leave it out");
  if (p.has_partition()) out.partition = p.partition();
  out.producer_id = p.producer_id();
  out.first_sequence = p.first_sequence();
  out.batch.messages.reserve(static_cast<size_t>(p.messages_size()));
  for (const auto& m : p.messages()) {
    cloudevents::message_batch::entry e;
    auto& f = e.fields;
    f.payload = m.payload();
    f.key = m.key();
    f.ttl_ms = m.ttl_ms();
    f.reply_to = m.reply_to();
    f.correlation_id = m.correlation_id();
    f.id = m.id();
    f.source = m.source();
    f.type = m.type();
    f.subject = m.subject();
    f.time_ms = m.time_ms();
    f.content_type = m.content_type();
    f.traceparent = m.traceparent();
    f.expiry_time_ms = m.expiry_time_ms();
    f.not_before_ms = m.not_before_ms();
    f.delay_ms = m.delay_ms();
    for (const auto& h : m.headers())
      e.headers.push_back({h.key(), h.value()});
    out.batch.messages.push_back(std::move(e));
  }
  return {};
}

// Any other body: one message, its payload the body, its content type the request's.
void read_plain(const http_request& req, publish_input& out) {
  cloudevents::message_batch::entry e;
  e.fields.payload = req.body;
  e.fields.content_type = req.header("content-type");
  out.batch.messages.push_back(std::move(e));
}

}  // namespace

ferry::error read_publish_input(const http_request& req, publish_input& out) {
  out.idempotency_key = std::string(req.header("idempotency-key"));
  std::optional<uint32_t> partition;
  if (auto err = number_option(req, "ferry-partition", "partition", partition)) return err;
  const std::string type = cloudevents::media_type(req.header("content-type"));
  ferry::error err;
  if (cloudevents::is_binary(req.headers)) {
    out.kind = publish_input::mode::binary;
    err = cloudevents::read_binary(req.headers, req.body, out.batch);
  } else if (type == cloudevents::structured_media) {
    out.kind = publish_input::mode::structured;
    err = cloudevents::read_structured(req.body, out.batch);
  } else if (type == cloudevents::batch_media) {
    out.kind = publish_input::mode::batch;
    err = cloudevents::read_batch(req.body, out.batch);
  } else if (type == ferry_publish_media) {
    out.kind = publish_input::mode::publish_json;
    err = read_publish_json(req, out);
  } else if (type.starts_with("application/cloudevents")) {
    return fail(errc::invalid_argument,
                "Content-Type " + text::quoted(type) +
                    ": not an event format ferry reads (application/cloudevents+json and "
                    "application/cloudevents-batch+json are)");
  } else {
    out.kind = publish_input::mode::plain;
    read_plain(req, out);
  }
  if (err) return err;
  if (partition) out.partition = partition;
  // The message options of the plain form apply to every mode.
  if (const auto key = option(req, "ferry-key", "key")) {
    const std::string_view k = out.batch.keep(*key);
    for (auto& m : out.batch.messages)
      m.fields.key = k;
  }
  std::optional<uint64_t> ttl;
  if (auto e = number_option(req, "ferry-ttl-ms", "ttl_ms", ttl)) return e;
  if (ttl)
    for (auto& m : out.batch.messages)
      m.fields.ttl_ms = *ttl;
  // Delayed delivery (PROTOCOL.md 5.7): every message of the request alike.
  std::optional<uint64_t> delay, not_before;
  if (auto e = number_option(req, "ferry-delay-ms", "delay_ms", delay)) return e;
  if (auto e = number_option(req, "ferry-not-before-ms", "not_before_ms", not_before)) return e;
  if (not_before && *not_before > static_cast<uint64_t>(INT64_MAX))
    return fail(errc::invalid_argument, "ferry-not-before-ms: not a Unix millisecond time");
  for (auto& m : out.batch.messages) {
    if (delay) m.fields.delay_ms = *delay;
    if (not_before) m.fields.not_before_ms = static_cast<int64_t>(*not_before);
  }
  return {};
}

}  // namespace ferry::broker
