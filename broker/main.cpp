// ferryd: options -> server -> run until a signal.
#include <cstdio>
#include <iostream>

#include <CLI/CLI.hpp>

#include "broker/config/option_table.h"
#include "broker/core/log.h"
#include "broker/server/server.h"

namespace fb = ferry::broker;

namespace {

int die(const std::string& message) {
  std::fprintf(stderr, "ferryd: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"ferryd: the ferry message broker"};
  std::string config_file, listen, http, data_dir, log_level, log_format;
  std::vector<std::string> assignments;
  bool print = false, check = false;
  app.add_option("-c,--config", config_file, "YAML config file (see config/ferryd.yaml)");
  app.add_option("--listen", listen, "Wire listener HOST:PORT (net.listen)");
  app.add_option("--http", http, "HTTP listener HOST:PORT, \"\" for none (http.listen)");
  app.add_option("--data-dir", data_dir, "Data directory (storage.data_dir)");
  app.add_option("--log-level", log_level, "Log level (log.level)");
  app.add_option("--log-format", log_format, "Log format: text or json (log.format)");
  app.add_option("--set", assignments,
                 "KEY=VALUE for any config key, e.g. --set limits.max_connections=100");
  app.add_flag("--print-config", print, "Print the effective configuration as YAML and exit");
  app.add_flag("--check-config", check, "Check the configuration and exit (0 when valid)");
  app.set_version_flag("--version", "ferryd " FERRY_VERSION);
  CLI11_PARSE(app, argc, argv);

  // Precedence: built-in defaults < config file < FERRY_* environment < flags.
  fb::broker_options opts;
  if (!config_file.empty())
    if (auto err = fb::load_config_file(config_file, opts); !err.empty()) return die(err);
  if (auto err = fb::apply_environment(opts); !err.empty()) return die(err);
  std::vector<std::string> flag_assignments;
  if (!listen.empty()) flag_assignments.push_back("net.listen=" + listen);
  if (app.count("--http") > 0) flag_assignments.push_back("http.listen=" + http);
  if (!data_dir.empty()) flag_assignments.push_back("storage.data_dir=" + data_dir);
  if (!log_level.empty()) flag_assignments.push_back("log.level=" + log_level);
  if (!log_format.empty()) flag_assignments.push_back("log.format=" + log_format);
  flag_assignments.insert(flag_assignments.end(), assignments.begin(), assignments.end());
  for (const auto& a : flag_assignments)
    if (auto err = fb::apply_assignment(a, opts); !err.empty()) return die(err);
  if (auto err = fb::check_options(opts); !err.empty()) return die(err);

  if (print) {
    std::cout << fb::print_config(opts);
    return 0;
  }
  if (check) {
    std::cout << "configuration is valid\n";
    return 0;
  }
  if (auto err = fb::log::init(opts.log_level, opts.log_format); !err.empty()) return die(err);

  fb::server srv(opts);
  if (auto err = srv.start()) return die(err.to_string());
  // Scripts and tests read this line to find the bound port.
  std::printf("listening on %s\n", srv.listen_address().c_str());
  if (!srv.http_address().empty())
    std::printf("http listening on %s\n", srv.http_address().c_str());
  std::fflush(stdout);
  srv.run();
  fb::log::server().info("stopped");
  return 0;
}
