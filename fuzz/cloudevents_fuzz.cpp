// cloudevents_fuzz: what POST /v1/topics/{name}/messages does with a request before it
// publishes (broker/http/publish_input.cpp, proto/cloudevents/): the input's first byte
// picks the Content-Type (binary mode, structured, batched, the JSON form, plain), then
// header lines ("name: value") up to an empty line, then the body.
// Properties: an event read in binary mode and written back in binary mode reads the same
// (every field, the headers, the payload); any event read (either mode) written in
// structured mode reads back with the same attributes.
#include <cstdint>
#include <string>
#include <string_view>

#include "broker/http/publish_input.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/quiet_protobuf.h"
#include "proto/cloudevents/cloudevent.h"

namespace broker = ferry::broker;
namespace ce = ferry::cloudevents;
using ferry::codec::message_fields;

namespace {

void same_attributes(const message_fields& a, const message_fields& b) {
  FUZZ_CHECK(a.id == b.id);
  FUZZ_CHECK(a.source == b.source);
  FUZZ_CHECK(a.type == b.type);
  FUZZ_CHECK(a.subject == b.subject);
  FUZZ_CHECK(a.time_ms == b.time_ms);
  FUZZ_CHECK(a.expiry_time_ms == b.expiry_time_ms);
  FUZZ_CHECK(a.traceparent == b.traceparent);
  FUZZ_CHECK(a.content_type == b.content_type);
  FUZZ_CHECK(a.key == b.key);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view types[] = {"text/plain", ce::structured_media, ce::batch_media,
                                               broker::ferry_publish_media, "application/json"};
  std::string_view text(reinterpret_cast<const char*>(data) + 1, size - 1);
  broker::http_request req;
  req.method = "POST";
  req.params = {"t"};
  req.headers.emplace_back("Content-Type", std::string(types[data[0] % 5]));
  for (;;) {
    const size_t nl = text.find('\n');
    if (nl == std::string_view::npos) break;
    const std::string_view line = text.substr(0, nl);
    text.remove_prefix(nl + 1);
    if (line.empty()) break;
    const size_t colon = line.find(": ");
    if (colon == std::string_view::npos) continue;
    req.headers.emplace_back(std::string(line.substr(0, colon)),
                             std::string(line.substr(colon + 2)));
  }
  req.body = std::string(text);

  broker::publish_input in;
  if (broker::read_publish_input(req, in)) return 0;
  if (!in.cloudevents()) return 0;
  for (const auto& m : in.batch.messages) {
    const std::string json = ce::write_structured(m.fields, m.headers);
    ce::message_batch back;
    FUZZ_CHECK(!ce::read_structured(json, back));
    FUZZ_CHECK(back.messages.size() == 1);
    // A key that is not UTF-8 is left out of an event; the fuzzer's ferry-key may be one.
    message_fields want = m.fields;
    if (back.messages[0].fields.key.empty()) want.key = {};
    same_attributes(want, back.messages[0].fields);
    if (in.kind != broker::publish_input::mode::binary) continue;
    ce::header_list headers;
    ce::write_binary(m.fields, m.headers, headers);
    ce::message_batch again;
    FUZZ_CHECK(!ce::read_binary(headers, m.fields.payload, again));
    FUZZ_CHECK(again.messages.size() == 1);
    same_attributes(want, again.messages[0].fields);
    FUZZ_CHECK(again.messages[0].fields.payload == m.fields.payload);
  }
  return 0;
}
