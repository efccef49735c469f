// publish_input: what a POST /v1/topics/{name}/messages carries, read into messages before
// anything is published (docs/HTTP.md, "Publishing"): a CloudEvent in binary or
// structured mode, a batch of them, the JSON form of ferry.v1.Publish, or any other body
// as one message's payload. Pure: the request in, messages out, or the error that refuses
// the whole request.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "broker/http/http_message.h"
#include "proto/cloudevents/cloudevent.h"
#include "proto/codec/errc.h"

namespace ferry::v1 {
class Publish;
}

namespace ferry::broker {

// The JSON form: Content-Type application/vnd.ferry.publish+json, a ferry.v1.Publish as
// the REST API writes messages (bytes as base64).
inline constexpr std::string_view ferry_publish_media = "application/vnd.ferry.publish+json";

struct publish_input {
  enum class mode { binary, structured, batch, publish_json, plain };
  mode kind = mode::plain;
  cloudevents::message_batch batch;
  std::optional<uint32_t> partition;  // ferry-partition / ?partition, or the JSON form's
  std::string producer_id;            // the JSON form's, for the binary protocol's dedup
  uint64_t first_sequence = 0;
  std::string idempotency_key;        // the Idempotency-Key header
  std::shared_ptr<v1::Publish> json;  // what the JSON form's views point into

  bool cloudevents() const {
    return kind == mode::binary || kind == mode::structured || kind == mode::batch;
  }
};

// INVALID_ARGUMENT naming what is wrong (an attribute, a header, a parameter).
ferry::error read_publish_input(const http_request& req, publish_input& out);

}  // namespace ferry::broker
