// Naming rules for topics, subscriptions and subscription patterns.
//
// A name is 1..255 characters of dot-separated, non-empty segments of [A-Za-z0-9_-]:
// `orders.eu.created`. A pattern is a name whose segments may also be `*` (exactly one
// segment) and whose last segment may be `>` (one or more trailing segments).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace ferry::names {

constexpr size_t max_name_length = 255;

// Empty string when `name` is valid, else why it is not (for the error message).
std::string check_name(std::string_view name);
std::string check_pattern(std::string_view pattern);

bool is_wildcard(std::string_view pattern);

// Whether topic name `topic` matches `pattern` (both assumed valid).
bool matches(std::string_view pattern, std::string_view topic);

// The partition of a log-topic message by its key: FNV-1a (32-bit) of the key bytes, mod
// the partition count. Clients that choose partitions themselves (idempotent producers
// must) use the same function, so a key always lands in the same partition.
uint32_t partition_for_key(std::string_view key, uint32_t partitions);

}  // namespace ferry::names
