// json_fuzz: what the REST API does with a request (broker/http/http_server.cpp,
// admin_routes.cpp, security_routes.cpp): parse_target on the request target, and
// from_json_text of the body into the messages the routes take (CreateTopic,
// CreateSubscription, ResetOffsets, CreateUser, AddAcl). The whole input is both.
// Property: what from_json_text accepts, to_json_text writes as JSON that from_json_text
// accepts and that writes the same again (the API answers with the shape it takes). For
// CreateUser only with FERRY_FUZZ_STRICT=1: its ScramCredential's bytes fields are written
// as base64 and refused when read (fuzz/README.md, finding 4).
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "ferry/v1/admin.pb.h"
#include "ferry/v1/log.pb.h"
#include "ferry/v1/security.pb.h"

#include "broker/http/http_message.h"
#include "broker/http/proto_json.h"
#include "broker/http/router.h"
#include "fuzz/fuzz_check.h"
#include "fuzz/quiet_protobuf.h"

namespace broker = ferry::broker;
namespace v1 = ferry::v1;

namespace {

template <typename M>
void body(std::string_view text, bool round_trip) {
  M m;
  if (broker::from_json_text(text, m)) return;
  const std::string json = broker::to_json_text(m);
  if (!round_trip) return;
  M again;
  const auto err = broker::from_json_text(json, again);
  if (err) std::fprintf(stderr, "%s: %s\n", json.c_str(), err.message.c_str());
  FUZZ_CHECK(!err);
  FUZZ_CHECK(broker::to_json_text(again) == json);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);

  broker::http_request req;
  if (!broker::parse_target(text, req)) {
    FUZZ_CHECK(req.target == text);
    for (const auto& s : req.segments)
      (void)s;
    (void)req.query_param("pattern");
  }

  body<v1::CreateTopic>(text, true);
  body<v1::CreateSubscription>(text, true);
  body<v1::ResetOffsets>(text, true);
  body<v1::CreateUser>(text, fuzz_strict);
  body<v1::AddAcl>(text, true);
  return 0;
}
