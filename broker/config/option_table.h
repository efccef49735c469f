// The option table: one row per setting of broker_options, with its dotted name, unit,
// one-sentence description, and how to read and write it as text. It drives the config
// file, FERRY_* environment variables, --set flags, --print-config and --check-config,
// and a test holds config/ferryd.yaml to it.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "broker/config/options.h"

namespace ferry::broker {

struct option_row {
  std::string name;         // "limits.max_frame_bytes"
  std::string unit;         // "bytes", "ms", "" ...
  std::string description;  // one sentence
  std::function<std::string(const broker_options&)> get;
  // Parses and stores `value`; returns an error message, empty on success.
  std::function<std::string(broker_options&, std::string_view value)> set;

  std::string default_value() const { return get(broker_options{}); }
  // FERRY_LIMITS_MAX_FRAME_BYTES
  std::string env_name() const;
};

const std::vector<option_row>& option_table();
const option_row* find_option(std::string_view name);

// Loads a YAML file over `opts`. Unknown keys and bad values are errors naming the key.
std::string load_config_file(const std::string& path, broker_options& opts);
// Applies every FERRY_* variable of the table that is set.
std::string apply_environment(broker_options& opts);
// Applies "key=value".
std::string apply_assignment(std::string_view assignment, broker_options& opts);
// Checks relations between options (each row checks its own range).
std::string check_options(const broker_options& opts);
// Whether HOST:PORT names a loopback host (127.x.y.z, ::1, localhost).
bool is_loopback_address(std::string_view host_port);
// The effective configuration as YAML, each key with its description.
std::string print_config(const broker_options& opts);

}  // namespace ferry::broker
