#include "broker/config/option_table.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>

#include <catch2/catch.hpp>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

using namespace ferry::broker;

namespace {

void collect(const YAML::Node& n, const std::string& prefix,
             std::map<std::string, std::string>& out) {
  for (const auto& kv : n) {
    std::string key =
        prefix.empty() ? kv.first.as<std::string>() : prefix + "." + kv.first.as<std::string>();
    if (kv.second.IsMap()) {
      collect(kv.second, key, out);
    } else {
      out[key] = kv.second.Scalar();
    }
  }
}

// Unique per process and call: CTest runs each test case as its own process, in parallel
// (an unseeded std::rand() gave every process the same names, and they raced).
std::string temp_file(const std::string& content) {
  static int calls = 0;
  std::string name = "ferry-config-test-";
  name.append(std::to_string(::getpid())).append("-").append(std::to_string(calls++));
  auto p = std::filesystem::temp_directory_path() / name.append(".yaml");
  std::ofstream(p) << content;
  return p.string();
}

}  // namespace

TEST_CASE("config/ferryd.yaml lists every option with its default, and nothing else", "[config]") {
  std::string path = FERRY_SOURCE_DIR;
  path.append("/config/ferryd.yaml");
  auto root = YAML::LoadFile(path);
  std::map<std::string, std::string> file;
  collect(root, "", file);
  std::map<std::string, std::string> table;
  for (const auto& row : option_table())
    table[row.name] = row.default_value();
  CHECK(file == table);
}

TEST_CASE("every option's default reads back through its own parser", "[config]") {
  for (const auto& row : option_table()) {
    broker_options o;
    INFO(row.name);
    CHECK(row.set(o, row.default_value()).empty());
    CHECK(row.get(o) == row.default_value());
    CHECK_FALSE(row.description.empty());
  }
}

TEST_CASE("config sources: file, environment and assignments, with clear errors", "[config]") {
  broker_options o;
  CHECK(load_config_file(temp_file("limits:\n  max_connections: 42\nlog:\n  format: json\n"), o)
            .empty());
  CHECK(o.session.max_connections == 42);
  CHECK(o.log_format == "json");

  auto err = load_config_file(temp_file("limits:\n  max_conections: 42\n"), o);
  CHECK(err.find("unknown key 'limits.max_conections'") != std::string::npos);
  err = load_config_file(temp_file("limits:\n  max_frame_bytes: lots\n"), o);
  CHECK(err.find("limits.max_frame_bytes") != std::string::npos);
  err = load_config_file(temp_file("log:\n  level: loud\n"), o);
  CHECK(err.find("not one of") != std::string::npos);
  CHECK_FALSE(load_config_file("/nonexistent/ferryd.yaml", o).empty());

  ::setenv("FERRY_NET_LISTEN", "127.0.0.1:9999", 1);
  CHECK(apply_environment(o).empty());
  ::unsetenv("FERRY_NET_LISTEN");
  CHECK(o.listen == "127.0.0.1:9999");

  CHECK(apply_assignment("memory_topics.timer_tick_ms=5", o).empty());
  CHECK(o.queues.timer_tick_ms == 5);
  CHECK_FALSE(apply_assignment("memory_topics.timer_tick_ms=0", o).empty());  // below min
  CHECK_FALSE(apply_assignment("nope=1", o).empty());
  CHECK_FALSE(apply_assignment("novalue", o).empty());
}

TEST_CASE("one row fills every subsystem that reads its setting", "[config]") {
  broker_options o;
  CHECK(apply_assignment("limits.max_message_bytes=2048", o).empty());
  CHECK(o.queues.max_message_bytes == 2048);
  CHECK(o.logs.max_message_bytes == 2048);
  CHECK(apply_assignment("memory_topics.max_prefetch=77", o).empty());
  CHECK(o.queues.max_prefetch == 77);
  CHECK(o.logs.max_credit == 77);
  CHECK(find_option("limits.max_message_bytes")->get(o) == "2048");
}

TEST_CASE("relations between options are checked", "[config]") {
  broker_options o;
  CHECK(check_options(o).empty());
  o.queues.max_message_bytes = o.connection.max_frame_bytes;
  CHECK_FALSE(check_options(o).empty());
}

TEST_CASE("cluster options: endpoints parsed, a node id required", "[config]") {
  broker_options o;
  o.cluster.etcd = "http://127.0.0.1:2379,10.0.0.2:2379,[::1]:2379/";
  CHECK(check_options(o).find("cluster.node_id") != std::string::npos);
  o.cluster.node_id = 3;
  CHECK(check_options(o).empty());
  std::vector<etcd_endpoint> eps;
  REQUIRE(parse_etcd_endpoints(o.cluster.etcd, eps).empty());
  REQUIRE(eps.size() == 3);
  CHECK(eps[0].host == "127.0.0.1");
  CHECK(eps[0].port == "2379");
  CHECK(eps[1].host == "10.0.0.2");
  CHECK(eps[2].host == "::1");
  for (const char* bad :
       {"127.0.0.1", "http://:2379", "a:0", "a:65536", "a:b", "a:1,,b:2", "https://a:2379"}) {
    INFO(bad);
    o.cluster.etcd = bad;
    CHECK(check_options(o).find("is not an etcd endpoint") != std::string::npos);
  }
  o.cluster.etcd = "a:1";
  o.cluster.prefix = "ferry/";
  CHECK(check_options(o).find("cluster.prefix") != std::string::npos);
}

TEST_CASE("print_config output loads back to the same options", "[config]") {
  broker_options o;
  o.session.max_connections = 7;
  o.listen = "[::1]:0";
  broker_options back;
  CHECK(load_config_file(temp_file(print_config(o)), back).empty());
  CHECK(back.session.max_connections == 7);
  CHECK(back.listen == "[::1]:0");
}
