// The push endpoint flags of `ferry sub create` and `ferry sub push` (sub_push_cmd.cpp).
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "ferry/v1/admin.pb.h"

namespace ferry::cli {

struct push_args {
  std::string url;
  std::vector<std::string> headers;  // NAME=VALUE
  uint32_t timeout_ms = 0;
  uint32_t max_in_flight = 0;
  uint32_t min_backoff_ms = 0;
  uint32_t max_backoff_ms = 0;
  bool structured = false;
};

// --push-url, --push-header, ... (with `prefix` "push-"), or --url, --header, ... ("").
void add_push_options(CLI::App* cmd, push_args& a, const std::string& prefix);
// False (after printing why) on a header that is not NAME=VALUE.
bool fill_push(const push_args& a, v1::PushEndpoint& out);

}  // namespace ferry::cli
