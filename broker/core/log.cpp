#include "broker/core/log.h"

#include <spdlog/sinks/stdout_sinks.h>

namespace ferry::broker::log {
namespace {

std::shared_ptr<spdlog::logger> make(const char* name) {
  // Logs go to stderr: stdout carries the "listening on" line scripts read.
  auto l =
      std::make_shared<spdlog::logger>(name, std::make_shared<spdlog::sinks::stderr_sink_mt>());
  l->set_level(spdlog::level::warn);  // until init(): quiet in unit tests
  return l;
}

struct loggers {
  std::shared_ptr<spdlog::logger> server = make("server");
  std::shared_ptr<spdlog::logger> net = make("net");
  std::shared_ptr<spdlog::logger> topics = make("topics");
  std::shared_ptr<spdlog::logger> storage = make("storage");
};

loggers& all() {
  static loggers l;
  return l;
}

}  // namespace

std::string init(const std::string& level, const std::string& format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return "unknown log level '" + level + "'";
  std::string pattern;
  if (format == "text") {
    pattern = "%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v";
  } else if (format == "json") {
    pattern = R"({"time":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","logger":"%n","msg":"%v"})";
  } else {
    return "unknown log format '" + format + "' (text or json)";
  }
  for (auto* l : {&all().server, &all().net, &all().topics, &all().storage}) {
    (*l)->set_level(lvl);
    (*l)->set_pattern(pattern);
  }
  return {};
}

spdlog::logger& server() {
  return *all().server;
}
spdlog::logger& net() {
  return *all().net;
}
spdlog::logger& topics() {
  return *all().topics;
}
spdlog::logger& storage() {
  return *all().storage;
}

}  // namespace ferry::broker::log
