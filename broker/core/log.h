// Named loggers, one per subsystem (like Redpanda's storage/logger.h). Lines carry the
// connection id, topic and subscription where they apply.
#pragma once

#include <memory>
#include <string>

#include <spdlog/formatter.h>
#include <spdlog/spdlog.h>

namespace ferry::broker::log {

// Sets up every logger: level ("trace".."off") and format ("text" or "json").
// Returns an error message for an unknown level or format.
std::string init(const std::string& level, const std::string& format);

// The line format of every logger: text, or one JSON object per line (the message escaped).
std::unique_ptr<spdlog::formatter> make_formatter(bool json);

spdlog::logger& server();
spdlog::logger& net();
spdlog::logger& session();
spdlog::logger& queues();
spdlog::logger& logs();
spdlog::logger& groups();
spdlog::logger& storage();
// Authentication and authorization: logins, refusals (the audit lines), user changes.
spdlog::logger& security();
// Membership and metadata in etcd (broker/cluster/).
spdlog::logger& cluster();

}  // namespace ferry::broker::log
