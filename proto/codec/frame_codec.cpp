#include "proto/codec/frame_codec.h"

#include <google/protobuf/message_lite.h>

#include "proto/codec/text.h"

namespace ferry::codec {

using wire::field;
using wire::reader;
using wire::wire_type;
using wire::writer;

// ---- framing ----

split_status split_frame(std::string_view buf, uint32_t max_frame_bytes, std::string_view& frame,
                         size_t& consumed) {
  if (buf.size() < frame_header_bytes) return split_status::need_more;
  uint32_t n = wire::read_be32(reinterpret_cast<const uint8_t*>(buf.data()));
  if (n > max_frame_bytes) return split_status::too_large;
  if (buf.size() - frame_header_bytes < n) return split_status::need_more;
  frame = buf.substr(frame_header_bytes, n);
  consumed = frame_header_bytes + n;
  return split_status::complete;
}

size_t count_frames(std::span<const uint8_t> buf) {
  size_t n = 0;
  for (size_t at = 0; buf.size() - at >= frame_header_bytes; ++n) {
    const size_t len = frame_header_bytes + wire::read_be32(buf.data() + at);
    if (buf.size() - at < len) break;
    at += len;
  }
  return n;
}

// ---- envelope ----

errc parse_frame(std::string_view frame, frame_view& out) {
  out = {};
  reader r(frame);
  field f;
  bool have_body = false;
  while (r.next(f)) {
    if (f.number == 1) {
      if (f.type != wire_type::varint) return errc::malformed_frame;
      out.correlation_id = f.value;
    } else if (f.type == wire_type::len && f.number >= 2 && f.number < first_envelope_extension) {
      // Every body is a message field; a second one (even the same) is not a valid oneof
      // as we send it, and accepting "last wins" would hide client bugs.
      if (have_body) return errc::malformed_frame;
      have_body = true;
      out.kind = static_cast<body>(f.number);
      out.bytes = f.bytes;
    }
    // Other fields: unknown, skipped (forward compatibility).
  }
  if (!r.ok() || !have_body) return errc::malformed_frame;
  return errc::ok;
}

size_t frame_size(uint64_t correlation_id, body kind, size_t body_len) {
  return wire::varint_field_size(1, correlation_id) +
         wire::len_field_size(static_cast<uint32_t>(kind), body_len);
}

void begin_frame(std::vector<uint8_t>& out, uint64_t correlation_id, body kind, size_t body_len) {
  size_t total = frame_size(correlation_id, kind, body_len);
  wire::ensure_capacity(out, out.size() + frame_header_bytes + total);
  writer w(out);
  w.be32(static_cast<uint32_t>(total));
  w.varint_field(1, correlation_id);
  w.len_header(static_cast<uint32_t>(kind), body_len);
}

void append_frame(std::vector<uint8_t>& out, uint64_t correlation_id, body kind,
                  const google::protobuf::MessageLite& msg) {
  size_t n = msg.ByteSizeLong();
  begin_frame(out, correlation_id, kind, n);
  size_t at = out.size();
  out.resize(at + n);
  msg.SerializeWithCachedSizesToArray(out.data() + at);
}

void append_error(std::vector<uint8_t>& out, uint64_t correlation_id, errc code,
                  std::string_view message) {
  std::string escaped;  // Error.message is a proto3 string: never anything but UTF-8
  if (!wire::valid_utf8(message)) message = escaped = text::escape(message);
  size_t n = wire::varint_field_size(1, static_cast<uint64_t>(code)) +
             (message.empty() ? 0 : wire::len_field_size(2, message.size()));
  begin_frame(out, correlation_id, body::error, n);
  writer w(out);
  w.varint_field(1, static_cast<uint64_t>(code));
  w.bytes_field_nonempty(2, message);
}

// ---- messages ----

namespace {
errc scan_header(std::string_view bytes) {
  reader r(bytes);
  field f;
  while (r.next(f)) {
    if (f.number == 1 && (f.type != wire_type::len || !wire::valid_utf8(f.bytes)))
      return errc::malformed_frame;
    if (f.number == 2 && f.type != wire_type::len) return errc::malformed_frame;
  }
  return r.ok() ? errc::ok : errc::malformed_frame;
}
}  // namespace

errc scan_message(std::string_view message, message_meta& out) {
  out = {};
  reader r(message);
  field f;
  while (r.next(f)) {
    switch (f.number) {
      case 1:  // payload
        if (f.type != wire_type::len) return errc::malformed_frame;
        break;
      case 2:
        if (f.type != wire_type::len) return errc::malformed_frame;
        out.key = f.bytes;
        break;
      case 3:
        if (f.type != wire_type::len || scan_header(f.bytes) != errc::ok)
          return errc::malformed_frame;
        break;
      case 4:
        if (f.type != wire_type::varint) return errc::malformed_frame;
        out.ttl_ms = f.value;
        break;
      case 11:
        if (f.type != wire_type::varint) return errc::malformed_frame;
        break;
      case 14:
        if (f.type != wire_type::varint) return errc::malformed_frame;
        out.expiry_time_ms = static_cast<int64_t>(f.value);
        break;
      case 15:
        if (f.type != wire_type::varint) return errc::malformed_frame;
        out.not_before_ms = static_cast<int64_t>(f.value);
        break;
      case 16:
        if (f.type != wire_type::varint) return errc::malformed_frame;
        out.delay_ms = f.value;
        break;
      default:
        // The string fields (5..10, 12, 13) must be UTF-8, or consumers' generated parsers
        // would refuse the whole delivery. Unknown fields pass through untouched.
        if ((f.number >= 5 && f.number <= 13) &&
            (f.type != wire_type::len || !wire::valid_utf8(f.bytes)))
          return errc::malformed_frame;
        break;
    }
  }
  return r.ok() ? errc::ok : errc::malformed_frame;
}

namespace {

// Message field numbers (proto/ferry/v1/message.proto).
enum message_field : uint32_t {
  f_payload = 1,
  f_key = 2,
  f_headers = 3,
  f_ttl_ms = 4,
  f_reply_to = 5,
  f_correlation_id = 6,
  f_id = 7,
  f_source = 8,
  f_type = 9,
  f_subject = 10,
  f_time_ms = 11,
  f_content_type = 12,
  f_traceparent = 13,
  f_expiry_time_ms = 14,
  f_not_before_ms = 15,
  f_delay_ms = 16,
};

errc parse_header(std::string_view bytes, header_view& h) {
  reader r(bytes);
  field f;
  while (r.next(f)) {
    if (f.type != wire_type::len) continue;
    if (f.number == 1) h.key = f.bytes;
    if (f.number == 2) h.value = f.bytes;
  }
  return r.ok() ? errc::ok : errc::malformed_frame;
}

size_t header_size(const header_view& h) {
  return (h.key.empty() ? 0 : wire::len_field_size(1, h.key.size())) +
         (h.value.empty() ? 0 : wire::len_field_size(2, h.value.size()));
}

size_t str_size(uint32_t field_number, std::string_view s) {
  return s.empty() ? 0 : wire::len_field_size(field_number, s.size());
}

}  // namespace

namespace {

// The length-delimited fields of a Message other than headers, by number; nullptr for
// other numbers.
std::string_view message_fields::*text_field(uint32_t number) {
  switch (number) {
    case f_payload: return &message_fields::payload;
    case f_key: return &message_fields::key;
    case f_reply_to: return &message_fields::reply_to;
    case f_correlation_id: return &message_fields::correlation_id;
    case f_id: return &message_fields::id;
    case f_source: return &message_fields::source;
    case f_type: return &message_fields::type;
    case f_subject: return &message_fields::subject;
    case f_content_type: return &message_fields::content_type;
    case f_traceparent: return &message_fields::traceparent;
    default: return nullptr;
  }
}

// Stores a varint field of a Message; false when `number` is not one.
bool set_varint_field(message_fields& m, uint32_t number, uint64_t v) {
  switch (number) {
    case f_ttl_ms: m.ttl_ms = v; return true;
    case f_time_ms: m.time_ms = static_cast<int64_t>(v); return true;
    case f_expiry_time_ms: m.expiry_time_ms = static_cast<int64_t>(v); return true;
    case f_not_before_ms: m.not_before_ms = static_cast<int64_t>(v); return true;
    case f_delay_ms: m.delay_ms = v; return true;
    default: return false;
  }
}

}  // namespace

errc parse_message(std::string_view message, message_fields& m, std::vector<header_view>* headers) {
  m = {};
  reader r(message);
  field f;
  while (r.next(f)) {
    const bool is_len = f.type == wire_type::len;
    if (f.number == f_headers) {
      if (!is_len) return errc::malformed_frame;
      if (headers == nullptr) continue;
      header_view h;
      if (parse_header(f.bytes, h) != errc::ok) return errc::malformed_frame;
      headers->push_back(h);
    } else if (auto member = text_field(f.number)) {
      if (!is_len) return errc::malformed_frame;
      m.*member = f.bytes;
    } else if (set_varint_field(m, f.number, f.value)) {
      if (f.type != wire_type::varint) return errc::malformed_frame;
    }
  }
  return r.ok() ? errc::ok : errc::malformed_frame;
}

size_t message_size(const message_fields& m, std::span<const header_view> headers) {
  size_t n = str_size(f_payload, m.payload) + str_size(f_key, m.key);
  for (const auto& h : headers)
    n += wire::len_field_size(f_headers, header_size(h));
  n += wire::varint_field_size(f_ttl_ms, m.ttl_ms);
  n += str_size(f_reply_to, m.reply_to) + str_size(f_correlation_id, m.correlation_id);
  n += str_size(f_id, m.id) + str_size(f_source, m.source) + str_size(f_type, m.type) +
       str_size(f_subject, m.subject);
  n += wire::varint_field_size(f_time_ms, static_cast<uint64_t>(m.time_ms));
  n += str_size(f_content_type, m.content_type) + str_size(f_traceparent, m.traceparent);
  n += wire::varint_field_size(f_expiry_time_ms, static_cast<uint64_t>(m.expiry_time_ms));
  n += wire::varint_field_size(f_not_before_ms, static_cast<uint64_t>(m.not_before_ms));
  n += wire::varint_field_size(f_delay_ms, m.delay_ms);
  return n;
}

void append_message(writer& w, const message_fields& m, std::span<const header_view> headers) {
  w.bytes_field_nonempty(f_payload, m.payload);
  w.bytes_field_nonempty(f_key, m.key);
  for (const auto& h : headers) {
    w.len_header(f_headers, header_size(h));
    w.bytes_field_nonempty(1, h.key);
    w.bytes_field_nonempty(2, h.value);
  }
  w.varint_field(f_ttl_ms, m.ttl_ms);
  w.bytes_field_nonempty(f_reply_to, m.reply_to);
  w.bytes_field_nonempty(f_correlation_id, m.correlation_id);
  w.bytes_field_nonempty(f_id, m.id);
  w.bytes_field_nonempty(f_source, m.source);
  w.bytes_field_nonempty(f_type, m.type);
  w.bytes_field_nonempty(f_subject, m.subject);
  w.varint_field(f_time_ms, static_cast<uint64_t>(m.time_ms));
  w.bytes_field_nonempty(f_content_type, m.content_type);
  w.bytes_field_nonempty(f_traceparent, m.traceparent);
  w.varint_field(f_expiry_time_ms, static_cast<uint64_t>(m.expiry_time_ms));
  w.varint_field(f_not_before_ms, static_cast<uint64_t>(m.not_before_ms));
  w.varint_field(f_delay_ms, m.delay_ms);
}

void append_header_field(std::vector<uint8_t>& out, std::string_view key, std::string_view value) {
  header_view h{key, value};
  writer w(out);
  w.len_header(f_headers, header_size(h));
  w.bytes_field_nonempty(1, key);
  w.bytes_field_nonempty(2, value);
}

void append_ttl_reset(std::vector<uint8_t>& out) {
  writer w(out);
  w.tag(4, wire_type::varint);  // ttl_ms
  w.varint(0);
  w.tag(14, wire_type::varint);  // expiry_time_ms
  w.varint(0);
}

// ---- Publish ----

errc parse_publish(std::string_view body_bytes, publish_view& out,
                   std::vector<std::string_view>& messages) {
  out = {};
  messages.clear();
  reader r(body_bytes);
  field f;
  while (r.next(f)) {
    switch (f.number) {
      case 1:
        if (f.type != wire_type::len || !wire::valid_utf8(f.bytes)) return errc::malformed_frame;
        out.topic = f.bytes;
        break;
      case 2:
        if (f.type != wire_type::len) return errc::malformed_frame;
        messages.push_back(f.bytes);
        break;
      case 3:
        if (f.type != wire_type::len || !wire::valid_utf8(f.bytes)) return errc::malformed_frame;
        out.producer_id = f.bytes;
        break;
      case 4:
        if (f.type != wire_type::varint) return errc::malformed_frame;
        out.first_sequence = f.value;
        break;
      case 5:
        if (f.type != wire_type::varint || f.value > 0xFFFFFFFFu) return errc::malformed_frame;
        out.partition = static_cast<uint32_t>(f.value);
        break;
      default: break;
    }
  }
  return r.ok() ? errc::ok : errc::malformed_frame;
}

namespace {
size_t publish_head_size(const publish_view& head) {
  size_t n = str_size(1, head.topic) + str_size(3, head.producer_id) +
             wire::varint_field_size(4, head.first_sequence);
  if (head.partition) n += 1 + wire::varint_size(*head.partition);
  return n;
}
}  // namespace

void append_publish_frame(std::vector<uint8_t>& out, uint64_t correlation_id,
                          const publish_view& head, std::string_view encoded_messages) {
  begin_frame(out, correlation_id, body::publish,
              publish_head_size(head) + encoded_messages.size());
  append_publish_head(out, head);
  writer w(out);
  w.raw(encoded_messages.data(), encoded_messages.size());
}

void append_publish_head(std::vector<uint8_t>& out, const publish_view& head) {
  wire::ensure_capacity(out, out.size() + publish_head_size(head));
  writer w(out);
  w.bytes_field_nonempty(1, head.topic);
  w.bytes_field_nonempty(3, head.producer_id);
  w.varint_field(4, head.first_sequence);
  if (head.partition) {  // explicit presence: written even when 0
    w.tag(5, wire_type::varint);
    w.varint(*head.partition);
  }
}

void append_publish_message(std::vector<uint8_t>& out, const message_fields& m,
                            std::span<const header_view> headers) {
  size_t n = message_size(m, headers);
  wire::ensure_capacity(out, out.size() + wire::len_field_size(2, n));
  writer w(out);
  w.len_header(2, n);
  append_message(w, m, headers);
}

// ---- Deliver ----

size_t delivery_size(const delivery_view& d) {
  return wire::varint_field_size(1, d.delivery_id) + wire::varint_field_size(2, d.delivery_count) +
         str_size(3, d.topic) + wire::varint_field_size(4, static_cast<uint64_t>(d.timestamp_ms)) +
         wire::len_field_size(5, d.message.size()) + wire::varint_field_size(6, d.partition) +
         wire::varint_field_size(7, d.offset);
}

size_t deliver_entry_size(size_t delivery_bytes) {
  return wire::len_field_size(2, delivery_bytes);
}

size_t deliver_body_size(uint64_t consumer_id, size_t entries_bytes) {
  return wire::varint_field_size(1, consumer_id) + entries_bytes;
}

uint8_t* begin_deliver_frame(std::vector<uint8_t>& out, uint64_t consumer_id,
                             size_t entries_bytes) {
  size_t n = deliver_body_size(consumer_id, entries_bytes);
  begin_frame(out, 0, body::deliver, n);
  writer w(out);
  w.varint_field(1, consumer_id);
  size_t at = out.size();
  out.resize(at + entries_bytes);  // one resize for every delivery of the frame
  return out.data() + at;
}

uint8_t* append_delivery(uint8_t* at, const delivery_view& d, size_t delivery_bytes) {
  wire::ptr_writer w(at);
  w.len_header(2, delivery_bytes);
  w.varint_field(1, d.delivery_id);
  w.varint_field(2, d.delivery_count);
  w.bytes_field_nonempty(3, d.topic);
  w.varint_field(4, static_cast<uint64_t>(d.timestamp_ms));
  w.bytes_field(5, d.message);  // always present, even when empty
  w.varint_field(6, d.partition);
  w.varint_field(7, d.offset);
  return w.pos();
}

errc parse_deliver(std::string_view body_bytes, uint64_t& consumer_id,
                   std::vector<delivery_view>& out) {
  out.clear();
  consumer_id = 0;
  reader r(body_bytes);
  field f;
  while (r.next(f)) {
    if (f.number == 1 && f.type == wire_type::varint) {
      consumer_id = f.value;
    } else if (f.number == 2 && f.type == wire_type::len) {
      delivery_view d;
      reader dr(f.bytes);
      field g;
      while (dr.next(g)) {
        // Other wire types are unknown fields, skipped as generated parsers skip them (a
        // fixed32 is not the topic, nor the message: it has no bytes of its own).
        const bool v = g.type == wire_type::varint, len = g.type == wire_type::len;
        switch (g.number) {
          case 1:
            if (v) d.delivery_id = g.value;
            break;
          case 2:
            if (v) d.delivery_count = static_cast<uint32_t>(g.value);
            break;
          case 3:
            if (len) d.topic = g.bytes;
            break;
          case 4:
            if (v) d.timestamp_ms = static_cast<int64_t>(g.value);
            break;
          case 5:
            if (len) d.message = g.bytes;
            break;
          case 6:
            if (v) d.partition = static_cast<uint32_t>(g.value);
            break;
          case 7:
            if (v) d.offset = g.value;
            break;
          default: break;
        }
      }
      if (!dr.ok()) return errc::malformed_frame;
      out.push_back(d);
    }
  }
  return r.ok() ? errc::ok : errc::malformed_frame;
}

}  // namespace ferry::codec
