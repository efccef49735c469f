// dead_letter: what a dead-lettered message is (PROTOCOL.md 7), for memory subscriptions
// (queue_registry) and shared subscriptions on log topics (shares/) alike.
#pragma once

#include <cstdint>
#include <string_view>
#include <vector>

namespace ferry::broker {

struct dead_letter_why {
  std::string_view reason;          // ferry-dead-letter-reason
  std::string_view detail;          // a Nack's reason, cut to 1 KiB; empty: no header
  std::string_view original_topic;  // ferry-original-topic
  std::string_view subscription;    // ferry-subscription
  uint32_t delivery_count = 0;
  int64_t at_ms = 0;  // Unix ms
};

// Appends the message's bytes, the headers saying why, and its TTLs cleared: protobuf
// merges appended fields, so the result is the original Message with more headers.
void append_dead_letter(std::vector<uint8_t>& out, std::string_view message,
                        const dead_letter_why& why);

}  // namespace ferry::broker
