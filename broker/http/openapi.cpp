#include "broker/http/openapi.h"

#include <map>
#include <memory>

#include <boost/algorithm/string/case_conv.hpp>
#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <google/protobuf/descriptor.h>

#include "broker/http/http_errors.h"
#include "broker/http/proto_json.h"

namespace ferry::broker {

namespace json = boost::json;
namespace pb = google::protobuf;
using FD = pb::FieldDescriptor;

namespace {

std::string ref(const pb::Descriptor* d) {
  return "#/components/schemas/" + d->name();
}

// The schema of one value of field `f` (not of its array); messages go to `todo`.
json::object value_schema(const FD* f, std::vector<const pb::Descriptor*>& todo) {
  switch (f->cpp_type()) {
    case FD::CPPTYPE_INT32:
    case FD::CPPTYPE_UINT32: return {{"type", "integer"}, {"format", "int32"}};
    case FD::CPPTYPE_INT64:
    case FD::CPPTYPE_UINT64: return {{"type", "integer"}, {"format", "int64"}};
    case FD::CPPTYPE_DOUBLE:
    case FD::CPPTYPE_FLOAT: return {{"type", "number"}};
    case FD::CPPTYPE_BOOL: return {{"type", "boolean"}};
    case FD::CPPTYPE_STRING:
      if (f->type() == FD::TYPE_BYTES) return {{"type", "string"}, {"contentEncoding", "base64"}};
      return {{"type", "string"}};
    case FD::CPPTYPE_ENUM: {
      json::array names;
      for (int i = 0; i < f->enum_type()->value_count(); ++i)
        names.push_back(json::string(json_enum_name(*f->enum_type()->value(i))));
      return {{"type", "string"}, {"enum", std::move(names)}};
    }
    case FD::CPPTYPE_MESSAGE:
      todo.push_back(f->message_type());
      return {{"$ref", ref(f->message_type())}};
  }
  return {};
}

json::object message_schema(const pb::Descriptor* d, std::vector<const pb::Descriptor*>& todo) {
  json::object props;
  for (int i = 0; i < d->field_count(); ++i) {
    const FD* f = d->field(i);
    json::object v = value_schema(f, todo);
    props[f->name()] =
        f->is_repeated() ? json::object{{"type", "array"}, {"items", std::move(v)}} : std::move(v);
  }
  return {{"type", "object"}, {"additionalProperties", false}, {"properties", std::move(props)}};
}

json::object json_content(json::object schema) {
  return {{"application/json", json::object{{"schema", std::move(schema)}}}};
}

json::object operation_of(const route& r, std::vector<const pb::Descriptor*>& todo) {
  json::object op;
  op["summary"] = r.summary;
  op["operationId"] = boost::algorithm::to_lower_copy(r.method) + r.pattern;
  json::array params;
  size_t at = 0;
  while ((at = r.pattern.find('{', at)) != std::string::npos) {
    const size_t end = r.pattern.find('}', at);
    params.push_back(json::object{{"name", r.pattern.substr(at + 1, end - at - 1)},
                                  {"in", "path"},
                                  {"required", true},
                                  {"schema", json::object{{"type", "string"}}}});
    at = end;
  }
  for (const auto& q : r.query)
    params.push_back(
        json::object{{"name", q}, {"in", "query"}, {"schema", json::object{{"type", "string"}}}});
  if (!params.empty()) op["parameters"] = std::move(params);
  // Open routes need nothing; the others a bearer token when authentication is on.
  if (r.access.open) op["security"] = json::array{};
  if (r.body) {
    todo.push_back(r.body);
    op["requestBody"] =
        json::object{{"required", true}, {"content", json_content({{"$ref", ref(r.body)}})}};
  }
  json::object ok{{"description", "success"}};
  if (r.answer) {
    todo.push_back(r.answer);
    ok["content"] = json_content({{"$ref", ref(r.answer)}});
  }
  op["responses"] = json::object{
      {std::to_string(r.status), std::move(ok)},
      {"default",
       json::object{{"description", "an error (docs/HTTP.md)"},
                    {"content", json_content({{"$ref", "#/components/schemas/Error"}})}}}};
  return op;
}

json::object error_schema() {
  json::object detail{{"type", "object"},
                      {"required", json::array{"code", "message"}},
                      {"properties", json::object{{"code", json::object{{"type", "string"}}},
                                                  {"message", json::object{{"type", "string"}}}}}};
  return {{"type", "object"},
          {"required", json::array{"error"}},
          {"properties", json::object{{"error", std::move(detail)}}}};
}

}  // namespace

std::string openapi_document(const router& routes, const std::string& version) {
  std::vector<const pb::Descriptor*> todo;
  std::map<std::string, json::object> paths;  // sorted by path
  for (const auto& r : routes.routes())
    paths[r.pattern][boost::algorithm::to_lower_copy(r.method)] = operation_of(r, todo);
  json::object schemas{{"Error", error_schema()}};
  while (!todo.empty()) {
    const pb::Descriptor* d = todo.back();
    todo.pop_back();
    if (!schemas.contains(d->name())) schemas[d->name()] = message_schema(d, todo);
  }
  json::object p;
  for (auto& [path, ops] : paths)
    p[path] = std::move(ops);
  json::object doc{
      {"openapi", "3.1.0"},
      {"info", json::object{{"title", "ferryd HTTP API"},
                            {"version", version},
                            {"description",
                             "Probes, metrics and the REST admin API of ferryd; "
                             "bodies are the ferry.v1 messages as JSON."}}},
      {"paths", std::move(p)},
      {"security", json::array{json::object{{"bearer", json::array{}}}}},
      {"components",
       json::object{
           {"schemas", std::move(schemas)},
           {"securitySchemes",
            json::object{{"bearer", json::object{{"type", "http"}, {"scheme", "bearer"}}}}}}}};
  return json::serialize(doc);
}

void add_openapi_route(router& r, std::string version) {
  // The document is made once the table is complete: on first request, then kept.
  auto doc = std::make_shared<std::string>();
  r.add({"GET", "/v1/openapi.json", "This document.", open_to_all(),
         [&r, doc, version = std::move(version)](const http_request&, http_reply done) {
           if (doc->empty()) *doc = openapi_document(r, version);
           done(json_response(*doc));
         }});
}

}  // namespace ferry::broker
