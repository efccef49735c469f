// proto_json: the REST API's JSON, the ferry.v1 messages' own shape (so the binary
// protocol and REST cannot drift): field names as in the .proto, every field present,
// numbers as JSON numbers, enums as lower-case names ("memory", "drop_oldest"), repeated
// fields as arrays, bytes as base64. Parsing refuses unknown fields and wrong types with
// INVALID_ARGUMENT naming the field.
#pragma once

#include <string>
#include <string_view>

#include <boost/json/value.hpp>

#include "proto/codec/errc.h"

namespace google::protobuf {
class EnumValueDescriptor;
class Message;
}  // namespace google::protobuf

namespace ferry::broker {

// How an enum value is written: its .proto name in lower case ("drop_oldest").
std::string json_enum_name(const google::protobuf::EnumValueDescriptor& v);

boost::json::value to_json(const google::protobuf::Message& m);
std::string to_json_text(const google::protobuf::Message& m);

// Parses `text` (a JSON object; empty text is an empty object) into `out`.
ferry::error from_json_text(std::string_view text, google::protobuf::Message& out);
ferry::error from_json(const boost::json::value& v, google::protobuf::Message& out);

}  // namespace ferry::broker
