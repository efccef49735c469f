// Naming rules for topics, subscriptions and subscription patterns.
//
// A name is 1..255 characters of dot-separated, non-empty segments of [A-Za-z0-9_-]:
// `orders.eu.created`. A pattern is a name whose segments may also be `*` (exactly one
// segment) and whose last segment may be `>` (one or more trailing segments).
#pragma once

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

}  // namespace ferry::names
