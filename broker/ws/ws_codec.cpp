#include "broker/ws/ws_codec.h"

#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <google/protobuf/descriptor.h>

#include "broker/http/proto_json.h"
#include "proto/cloudevents/cloudevent.h"
#include "proto/codec/frame_codec.h"
#include "proto/codec/wire.h"
#include "proto/codec/wire_errors.h"

namespace ferry::broker::ws {

namespace json = boost::json;

namespace {

ferry::error invalid(std::string message) {
  return {make_error_code(errc::invalid_argument), std::move(message)};
}

void append_number(std::string& out, uint64_t v) {
  char buf[24];
  char* end = buf + sizeof buf;
  char* p = end;
  do {
    *--p = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  out.append(p, end);
}

// A JSON string (topic names are plain ASCII; anything else is escaped all the same).
void append_string(std::string& out, std::string_view s) {
  out += json::serialize(json::string_view(s));
}

}  // namespace

ferry::error read_request(std::string_view data, bool text, v1::WsRequest& out) {
  if (!text) {
    if (!out.ParseFromArray(data.data(), static_cast<int>(data.size())))
      return {make_error_code(errc::malformed_frame),
              "a binary message must hold a ferry.v1.WsRequest"};
    if (out.op_case() == v1::WsRequest::OP_NOT_SET)
      return invalid("the request names no operation");
    return {};
  }
  boost::system::error_code ec;
  json::value v = json::parse(data, ec);
  if (ec || !v.is_object())
    return invalid("a text message must hold one JSON object (a ferry.v1.WsRequest)");
  size_t ops = 0;
  for (const auto& kv : v.get_object())
    ops += kv.key() != "id" ? 1 : 0;
  if (ops != 1)
    return invalid(
        "a request names exactly one operation (subscribe, consume_log, credit, ack, "
        "nack, extend_lease, unsubscribe, commit_offsets, revoke_done, seek)");
  return from_json(v, out);
}

std::string write_event(const v1::WsEvent& e, format f) {
  if (f == format::protobuf) return e.SerializeAsString();
  const auto* oneof = v1::WsEvent::descriptor()->FindOneofByName("event");
  const auto* field = e.GetReflection()->GetOneofFieldDescriptor(e, oneof);
  json::object o;
  o["id"] = e.id();
  if (field != nullptr) o[field->name()] = to_json(e.GetReflection()->GetMessage(e, field));
  return json::serialize(o);
}

std::string write_error(uint64_t id, const ferry::error& err, format f) {
  const errc code = errc_of(err.code);
  if (f == format::protobuf) {
    v1::WsEvent e;
    e.set_id(id);
    e.mutable_error()->set_code(codec::to_wire(code));
    e.mutable_error()->set_message(err.message);
    return e.SerializeAsString();
  }
  json::object detail;
  detail["code"] = errc_name(code);
  detail["message"] = err.message;
  json::object o;
  o["id"] = id;
  o["error"] = std::move(detail);
  return json::serialize(o);
}

namespace {

codec::delivery_view view_of(const pending_delivery& p) {
  return codec::delivery_view{p.meta.delivery_id, p.meta.delivery_count, p.msg.topic,
                              p.msg.timestamp_ms, p.msg.bytes,           p.meta.partition,
                              p.meta.offset};
}

// WsEvent{deliver: Deliver{consumer_id, deliveries}}, written as the binary protocol's
// Deliver body inside field 9.
void append_protobuf(std::string& out, uint64_t consumer_id,
                     std::span<const pending_delivery> deliveries) {
  size_t entries = 0;
  for (const auto& p : deliveries)
    entries += codec::deliver_entry_size(codec::delivery_size(view_of(p)));
  const size_t body = codec::deliver_body_size(consumer_id, entries);
  const size_t total = wire::len_field_size(v1::WsEvent::kDeliverFieldNumber, body);
  const size_t at = out.size();
  out.resize(at + total);
  wire::ptr_writer w(reinterpret_cast<uint8_t*>(out.data() + at));
  w.len_header(v1::WsEvent::kDeliverFieldNumber, body);
  w.varint_field(v1::Deliver::kConsumerIdFieldNumber, consumer_id);
  uint8_t* p = w.pos();
  for (const auto& d : deliveries) {
    const auto v = view_of(d);
    p = codec::append_delivery(p, v, codec::delivery_size(v));
  }
}

void append_event(std::string& out, const pending_delivery& p, const event_namer& names) {
  codec::message_fields f;
  static thread_local std::vector<codec::header_view> headers;  // reused: no allocation
  headers.clear();                                              // per delivery
  (void)codec::parse_message(p.msg.bytes, f, &headers);         // checked when it was published
  cloudevents::made_attributes made;
  cloudevents::complete_required(
      f, p.msg.topic, [&] { return delivery_name(p.msg.topic, names.subscription, p.meta); }, made);
  cloudevents::append_structured(out, f, headers);
}

}  // namespace

void write_deliveries(std::string& out, uint64_t consumer_id,
                      std::span<const pending_delivery> deliveries, const event_namer& names,
                      format f) {
  if (f == format::protobuf) return append_protobuf(out, consumer_id, deliveries);
  out += R"({"id":0,"deliver":{"consumer_id":)";
  append_number(out, consumer_id);
  out += R"(,"deliveries":[)";
  bool first = true;
  for (const auto& p : deliveries) {
    out += first ? R"({"delivery_id":)" : R"(,{"delivery_id":)";
    first = false;
    append_number(out, p.meta.delivery_id);
    out += R"(,"delivery_count":)";
    append_number(out, p.meta.delivery_count);
    out += R"(,"topic":)";
    append_string(out, p.msg.topic);
    out += R"(,"timestamp_ms":)";
    append_number(out, static_cast<uint64_t>(std::max<int64_t>(p.msg.timestamp_ms, 0)));
    out += R"(,"partition":)";
    append_number(out, p.meta.partition);
    out += R"(,"offset":)";
    append_number(out, p.meta.offset);
    out += R"(,"event":)";
    append_event(out, p, names);
    out += '}';
  }
  out += "]}}";
}

}  // namespace ferry::broker::ws
