// security_settings: authentication and its first admin (config keys auth.*), and the
// default quotas of each principal (quotas.*, security/quotas.h).
#pragma once

#include <cstdint>
#include <string>

namespace ferry::broker {

struct security_settings {
  // Clients must authenticate (SCRAM-SHA-256 or a token); requests pass the access rules.
  bool enabled = false;
  // Without authentication, a listener on a non-loopback address needs this: an explicit
  // "anyone who reaches the port may do anything".
  bool allow_anonymous = false;
  // Created at start with an ADMIN rule if it does not exist; its password comes from
  // $FERRY_AUTH_BOOTSTRAP_PASSWORD or bootstrap_password_file, never the YAML or a flag.
  std::string bootstrap_user;
  std::string bootstrap_password_file;
};

struct quota_settings {
  uint64_t max_connections = 0;  // per principal; 0 = no limit (as every field here)
  uint64_t publish_bytes_per_second = 0;
  uint64_t publish_messages_per_second = 0;
  uint64_t max_frame_bytes = 0;
};

}  // namespace ferry::broker
