// broker_options: every setting of ferryd, as the settings of each subsystem, with their
// defaults (written in each subsystem's settings struct).
//
// The option table (option_table.h) names each field, documents it and parses it; the
// config file, FERRY_* environment variables and command-line flags all go through it.
// A setting read by two subsystems (limits.max_message_bytes) is one row that fills both.
#pragma once

#include <string>

#include "broker/cluster/cluster_settings.h"
#include "broker/http/http_settings.h"
#include "broker/logs/log_settings.h"
#include "broker/net/connection_limits.h"
#include "broker/net/tls_settings.h"
#include "broker/push/push_config.h"
#include "broker/queues/queue_settings.h"
#include "broker/security/security_settings.h"
#include "broker/session/session_settings.h"

namespace ferry::broker {

struct broker_options {
  std::string listen = "127.0.0.1:7411";
  connection_limits connection;
  http_settings http;
  session_settings session;
  queue_settings queues;
  log_settings logs;
  security_settings auth;
  tls_settings tls;
  push_config push;
  quota_settings quotas;
  cluster_settings cluster;
  std::string data_dir = "data";
  int64_t shutdown_grace_ms = 8000;  // under `docker stop`'s 10 s
  std::string log_level = "info";
  std::string log_format = "text";
};

}  // namespace ferry::broker
