#include "broker/http/proto_json.h"

#include <cctype>

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/json/parse.hpp>
#include <boost/json/serialize.hpp>
#include <google/protobuf/descriptor.h>
#include <google/protobuf/message.h>

#include "proto/codec/base64.h"

namespace ferry::broker {

namespace pb = google::protobuf;
namespace json = boost::json;
using FD = pb::FieldDescriptor;

namespace {

// Element `i` of a repeated field, or the field itself when i < 0.
json::value field_value(const pb::Message& m, const FD* f, int i) {
  const auto* r = m.GetReflection();
  const bool rep = i >= 0;
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32: return rep ? r->GetRepeatedInt32(m, f, i) : r->GetInt32(m, f);
    case FD::CPPTYPE_INT64: return rep ? r->GetRepeatedInt64(m, f, i) : r->GetInt64(m, f);
    case FD::CPPTYPE_UINT32: return rep ? r->GetRepeatedUInt32(m, f, i) : r->GetUInt32(m, f);
    case FD::CPPTYPE_UINT64: return rep ? r->GetRepeatedUInt64(m, f, i) : r->GetUInt64(m, f);
    case FD::CPPTYPE_DOUBLE: return rep ? r->GetRepeatedDouble(m, f, i) : r->GetDouble(m, f);
    case FD::CPPTYPE_FLOAT: return rep ? r->GetRepeatedFloat(m, f, i) : r->GetFloat(m, f);
    case FD::CPPTYPE_BOOL: return rep ? r->GetRepeatedBool(m, f, i) : r->GetBool(m, f);
    case FD::CPPTYPE_ENUM: {
      const auto* e = rep ? r->GetRepeatedEnum(m, f, i) : r->GetEnum(m, f);
      return json::string(json_enum_name(*e));
    }
    case FD::CPPTYPE_STRING: {
      std::string s = rep ? r->GetRepeatedString(m, f, i) : r->GetString(m, f);
      return json::string(f->type() == FD::TYPE_BYTES ? codec::base64(s) : s);
    }
    case FD::CPPTYPE_MESSAGE:
      return to_json(rep ? r->GetRepeatedMessage(m, f, i) : r->GetMessage(m, f));
  }
  return nullptr;
}

ferry::error bad(const FD* f, std::string what) {
  return {make_error_code(errc::invalid_argument), "field '" + f->name() + "': " + std::move(what)};
}

template <typename T>
ferry::error number(const json::value& v, const FD* f, T& out) {
  std::error_code ec;
  if (v.is_double()) return bad(f, "expected an integer");
  out = v.to_number<T>(ec);
  if (ec) return bad(f, v.is_number() ? "out of range" : "expected a number");
  return {};
}

ferry::error set_enum(const json::value& v, const FD* f, const pb::EnumValueDescriptor*& out) {
  if (v.is_string())
    out = f->enum_type()->FindValueByName(
        boost::algorithm::to_upper_copy(std::string(v.as_string())));
  if (!out) {
    std::string names;
    for (int i = 0; i < f->enum_type()->value_count(); ++i)
      names += (i ? ", " : "") + json_enum_name(*f->enum_type()->value(i));
    return bad(f, "expected one of " + names);
  }
  return {};
}

// Sets field `f` (one element of it when repeated) from `v`.
ferry::error set_field(const json::value& v, const FD* f, pb::Message& m) {
  const auto* r = m.GetReflection();
  const bool rep = f->is_repeated();
  auto put = [&](auto setter, auto adder, auto x) {
    rep ? (r->*adder)(&m, f, x) : (r->*setter)(&m, f, x);
  };
  ferry::error err;
  switch (f->cpp_type()) {
#define FERRY_NUMBER(CPP, T, NAME)                                                                \
  case FD::CPP: {                                                                                 \
    T x{};                                                                                        \
    if (!(err = number(v, f, x))) put(&pb::Reflection::Set##NAME, &pb::Reflection::Add##NAME, x); \
    return err;                                                                                   \
  }
    FERRY_NUMBER(CPPTYPE_INT32, int32_t, Int32)
    FERRY_NUMBER(CPPTYPE_INT64, int64_t, Int64)
    FERRY_NUMBER(CPPTYPE_UINT32, uint32_t, UInt32)
    FERRY_NUMBER(CPPTYPE_UINT64, uint64_t, UInt64)
#undef FERRY_NUMBER
    case FD::CPPTYPE_DOUBLE:
    case FD::CPPTYPE_FLOAT: {
      if (!v.is_number()) return bad(f, "expected a number");
      double x = v.to_number<double>();
      if (f->cpp_type() == FD::CPPTYPE_DOUBLE)
        put(&pb::Reflection::SetDouble, &pb::Reflection::AddDouble, x);
      else
        put(&pb::Reflection::SetFloat, &pb::Reflection::AddFloat, static_cast<float>(x));
      return {};
    }
    case FD::CPPTYPE_BOOL:
      if (!v.is_bool()) return bad(f, "expected true or false");
      put(&pb::Reflection::SetBool, &pb::Reflection::AddBool, v.as_bool());
      return {};
    case FD::CPPTYPE_ENUM: {
      const pb::EnumValueDescriptor* e = nullptr;
      if (!(err = set_enum(v, f, e))) put(&pb::Reflection::SetEnum, &pb::Reflection::AddEnum, e);
      return err;
    }
    case FD::CPPTYPE_STRING: {
      if (!v.is_string()) return bad(f, "expected a string");
      std::string s(v.as_string());
      if (f->type() == FD::TYPE_BYTES && !codec::unbase64(v.as_string(), s))
        return bad(f, "expected base64 (standard alphabet, padded)");
      put(&pb::Reflection::SetString, &pb::Reflection::AddString, std::move(s));
      return {};
    }
    case FD::CPPTYPE_MESSAGE: {
      pb::Message* sub = rep ? r->AddMessage(&m, f) : r->MutableMessage(&m, f);
      return from_json(v, *sub);
    }
  }
  return bad(f, "unsupported type");
}

}  // namespace

std::string json_enum_name(const pb::EnumValueDescriptor& v) {
  return boost::algorithm::to_lower_copy(v.name());
}

json::value to_json(const pb::Message& m) {
  json::object out;
  const auto* d = m.GetDescriptor();
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    if (!f->is_repeated()) {
      out[f->name()] = field_value(m, f, -1);
      continue;
    }
    json::array a;
    const int n = m.GetReflection()->FieldSize(m, f);
    for (int j = 0; j < n; ++j)
      a.push_back(field_value(m, f, j));
    out[f->name()] = std::move(a);
  }
  return out;
}

std::string to_json_text(const pb::Message& m) {
  return json::serialize(to_json(m));
}

ferry::error from_json(const json::value& v, pb::Message& out) {
  if (!v.is_object())
    return {make_error_code(errc::invalid_argument),
            "expected a JSON object for " + out.GetDescriptor()->name()};
  const auto* d = out.GetDescriptor();
  for (const auto& [key, value] : v.as_object()) {
    const FD* f = d->FindFieldByName(std::string(key));
    if (!f)
      return {make_error_code(errc::invalid_argument),
              "unknown field '" + std::string(key) + "' in " + d->name()};
    if (value.is_null()) continue;
    if (!f->is_repeated()) {
      if (auto err = set_field(value, f, out)) return err;
      continue;
    }
    if (!value.is_array()) return bad(f, "expected an array");
    for (const auto& e : value.as_array())
      if (auto err = set_field(e, f, out)) return err;
  }
  return {};
}

ferry::error from_json_text(std::string_view text, pb::Message& out) {
  if (text.find_first_not_of(" \t\r\n") == std::string_view::npos) return {};
  std::error_code ec;
  json::value v = json::parse(text, ec);
  if (ec) return {make_error_code(errc::invalid_argument), "malformed JSON: " + ec.message()};
  return from_json(v, out);
}

}  // namespace ferry::broker
