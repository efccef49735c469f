#include "broker/queues/dead_letter.h"

#include <string>

#include "proto/codec/frame_codec.h"

namespace ferry::broker {

namespace {
constexpr size_t max_detail_bytes = 1024;
}

void append_dead_letter(std::vector<uint8_t>& out, std::string_view message,
                        const dead_letter_why& why) {
  out.insert(out.end(), message.begin(), message.end());
  codec::append_header_field(out, "ferry-dead-letter-reason", why.reason);
  if (!why.detail.empty())  // a client's text: bounded, so a message cannot grow without end
    codec::append_header_field(out, "ferry-dead-letter-detail",
                               why.detail.substr(0, max_detail_bytes));
  codec::append_header_field(out, "ferry-original-topic", why.original_topic);
  codec::append_header_field(out, "ferry-subscription", why.subscription);
  codec::append_header_field(out, "ferry-delivery-count", std::to_string(why.delivery_count));
  codec::append_header_field(out, "ferry-dead-lettered-at", std::to_string(why.at_ms));
  codec::append_ttl_reset(out);
}

}  // namespace ferry::broker
