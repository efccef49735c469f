#include "broker/topics/publish_checks.h"

#include <string>

#include "proto/codec/text.h"
#include "proto/codec/wire_errors.h"

namespace ferry::broker {
namespace {

void add_error(v1::PublishOk& ok, uint32_t index, v1::ErrorCode code, std::string_view message) {
  auto* e = ok.add_errors();
  e->set_index(index);
  e->set_code(code);
  e->set_message(text::sendable(message));
}

}  // namespace

bytes_ref adopt_frame(publish_request& r, memory_accountant* acct) {
  auto buf = bytes_ref::copy_of(r.body, acct);
  r.head.topic = buf.rebase(r.body, r.head.topic);
  r.head.producer_id = buf.rebase(r.body, r.head.producer_id);
  for (auto& m : r.messages)
    m = buf.rebase(r.body, m);
  r.body = buf.get()->view();
  return buf;
}

void add_error(v1::PublishOk& ok, uint32_t index, errc code, std::string_view message) {
  add_error(ok, index, codec::to_wire(code), message);
}

void add_error(v1::PublishOk& ok, uint32_t index, const ferry::error& err,
               std::string_view message) {
  add_error(ok, index, codec::to_wire(err.code), message);
}

bool check_encoding(uint32_t i, std::string_view bytes, size_t max_message_bytes,
                    codec::message_meta& meta, v1::PublishOk& out) {
  if (bytes.size() > max_message_bytes) {
    add_error(out, i, errc::message_too_large,
              "message of " + std::to_string(bytes.size()) + " bytes is above max_message_bytes " +
                  std::to_string(max_message_bytes));
    return false;
  }
  if (codec::scan_message(bytes, meta) != errc::ok) {
    add_error(out, i, errc::malformed_frame,
              "message is not a valid ferry.v1.Message (bad field or non-UTF-8 string)");
    return false;
  }
  return true;
}

bool check_message(uint32_t i, std::string_view bytes, size_t max_message_bytes, int64_t now_ms,
                   codec::message_meta& meta, v1::PublishOk& out) {
  if (!check_encoding(i, bytes, max_message_bytes, meta, out)) return false;
  if (due_ms(meta, now_ms) > now_ms) {
    add_error(out, i, errc::invalid_argument,
              "a delayed message follows an undelayed one in this Publish: the first message "
              "decides, so send delayed messages first or in a Publish of their own");
    return false;
  }
  return true;
}

}  // namespace ferry::broker
