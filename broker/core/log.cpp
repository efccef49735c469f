#include "broker/core/log.h"

#include <array>

#include <spdlog/pattern_formatter.h>
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

// One per subsystem; the name is what lines show as [name].
struct loggers {
  std::shared_ptr<spdlog::logger> server = make("server");
  std::shared_ptr<spdlog::logger> net = make("net");
  std::shared_ptr<spdlog::logger> session = make("session");
  std::shared_ptr<spdlog::logger> queues = make("queues");
  std::shared_ptr<spdlog::logger> logs = make("logs");
  std::shared_ptr<spdlog::logger> groups = make("groups");
  std::shared_ptr<spdlog::logger> storage = make("storage");
  std::shared_ptr<spdlog::logger> security = make("security");
  std::shared_ptr<spdlog::logger> cluster = make("cluster");

  std::array<std::shared_ptr<spdlog::logger>*, 9> each() {
    return {&server, &net, &session, &queues, &logs, &groups, &storage, &security, &cluster};
  }
};

loggers& all() {
  static loggers l;
  return l;
}

// %j: the message as the inside of a JSON string (quotes, backslashes and control
// characters escaped), so JSON log lines stay valid whatever the message says.
class json_escaped_message final : public spdlog::custom_flag_formatter {
 public:
  void format(const spdlog::details::log_msg& msg, const std::tm&,
              spdlog::memory_buf_t& dest) override {
    static constexpr char hex[] = "0123456789abcdef";
    for (char c : std::string_view(msg.payload.data(), msg.payload.size())) {
      switch (c) {
        case '"': dest.append(std::string_view("\\\"")); break;
        case '\\': dest.append(std::string_view("\\\\")); break;
        case '\n': dest.append(std::string_view("\\n")); break;
        case '\t': dest.append(std::string_view("\\t")); break;
        default:
          if (static_cast<unsigned char>(c) < 0x20) {
            char u[6] = {'\\', 'u', '0', '0', hex[(c >> 4) & 0xF], hex[c & 0xF]};
            dest.append(u, u + 6);
          } else {
            dest.push_back(c);
          }
      }
    }
  }
  std::unique_ptr<custom_flag_formatter> clone() const override {
    return std::make_unique<json_escaped_message>();
  }
};

}  // namespace

std::unique_ptr<spdlog::formatter> make_formatter(bool json) {
  auto f = std::make_unique<spdlog::pattern_formatter>();
  if (json) {
    f->add_flag<json_escaped_message>('j').set_pattern(
        R"({"time":"%Y-%m-%dT%H:%M:%S.%e","level":"%l","logger":"%n","msg":"%j"})");
  } else {
    f->set_pattern("%Y-%m-%dT%H:%M:%S.%e %^%l%$ [%n] %v");
  }
  return f;
}

std::string init(const std::string& level, const std::string& format) {
  auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") return "unknown log level '" + level + "'";
  if (format != "text" && format != "json")
    return "unknown log format '" + format + "' (text or json)";
  for (auto* l : all().each()) {
    (*l)->set_level(lvl);
    (*l)->set_formatter(make_formatter(format == "json"));
  }
  return {};
}

spdlog::logger& server() {
  return *all().server;
}
spdlog::logger& net() {
  return *all().net;
}
spdlog::logger& session() {
  return *all().session;
}
spdlog::logger& queues() {
  return *all().queues;
}
spdlog::logger& logs() {
  return *all().logs;
}
spdlog::logger& groups() {
  return *all().groups;
}
spdlog::logger& storage() {
  return *all().storage;
}
spdlog::logger& security() {
  return *all().security;
}
spdlog::logger& cluster() {
  return *all().cluster;
}

}  // namespace ferry::broker::log
