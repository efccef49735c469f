// schedule_value: what the scheduler stores for one delayed message (the value of its
// schedule entry) and how its id is spelled. Internal to schedule/.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "storage/schedule_store.h"

namespace ferry::broker::schedule_value {

// The not_before_ms field appended to a stored message: a tag and a varint.
inline constexpr size_t due_field_bytes = 11;

// Version 1, whether a partition was asked for and which, the topic, then the message as
// published with its due time appended as not_before_ms (protobuf: the last value of a
// field wins), so the delivered message says when it was due.
std::string encode(std::string_view topic, std::optional<uint32_t> partition,
                   std::string_view message, int64_t due_ms);

struct decoded {
  std::string_view topic;
  std::optional<uint32_t> partition;
  std::string_view message;
};
// False unless `v` is a value encode() wrote.
bool decode(std::string_view v, decoded& out);

// An entry's id, as PublishOk.scheduled_ids gives it: "DUE-SEQUENCE".
std::string id_of(const storage::schedule_key& k);
// False unless `id` is one id_of() could have written.
bool parse_id(std::string_view id, storage::schedule_key& out);

}  // namespace ferry::broker::schedule_value
