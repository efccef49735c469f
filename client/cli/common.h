// Shared pieces of the `ferry` CLI: global options, connecting, error printing and exit
// codes, and the registration function of each command file.
//
// Every command registers its CLI11 subcommand and, when chosen, stores in context::run
// what main() runs after parsing. Commands talk to the broker through blocking_client,
// which keeps Asio out of the CLI's compile.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "ferry/client/blocking_client.h"

namespace CLI {
class App;
}

namespace ferry::cli {

enum exit_code : int { exit_ok = 0, exit_error = 1, exit_usage = 2 };

struct globals {
  std::string broker = "127.0.0.1:7411";
  int64_t timeout_ms = 10000;
  // Credentials (a broker with auth.enabled): --user and --password (SCRAM-SHA-256), or
  // --token; from $FERRY_USER, $FERRY_PASSWORD, $FERRY_TOKEN when not given.
  std::string user, password, token;
  // TLS (a broker with tls.enabled): --tls, --ca-file (else the system's CAs), and a client
  // certificate with --cert-file and --key-file.
  bool tls = false;
  std::string ca_file, cert_file, key_file;
};

struct context {
  globals g;
  std::function<int()> run;  // set by the chosen command
};

// Connects to --broker; on failure prints the error and returns null.
std::unique_ptr<client::blocking_client> connect(const globals& g, int& exit_status);

// "earliest", "latest", "offset:N", "time:UNIX_MS" (--from, --to). False when malformed.
bool parse_position(const std::string& s, v1::Position& out);

// Writes a delivery's payload, or with `cloudevent` the message as a CloudEvent in the
// JSON format (proto/cloudevents), to stdout (no newline).
void print_body(const client::delivery& d, bool cloudevent);

// `ferry sub`'s loop (sub_cmd.cpp), also `ferry consume --subscription`: attach to a
// subscription (created on `pattern` if missing) or an ephemeral one on `pattern`, print
// each delivery, ack it unless `no_ack`.
struct sub_args {
  std::string pattern;
  std::string subscription;
  uint64_t count = 0;       // 0 = no limit
  int64_t timeout_ms = -1;  // idle timeout; -1 = wait forever
  bool no_ack = false;
  uint32_t prefetch = 0;
  bool verbose = false;
  bool cloudevents = false;
};
int run_sub(const globals& g, const sub_args& a);

// Prints "error: CODE_NAME: message" to stderr; returns exit_error.
int fail(const error& e);
// Prints "error: message" to stderr; returns exit_usage.
int usage_error(const std::string& message);

void add_topic_commands(CLI::App& app, context& ctx);
void add_sub_admin_commands(CLI::App& sub, context& ctx);
void add_sub_push_command(CLI::App& sub, context& ctx);
void add_subscribe_command(CLI::App& app, context& ctx);
void add_pub_command(CLI::App& app, context& ctx);
void add_scheduled_commands(CLI::App& app, context& ctx);
void add_request_command(CLI::App& app, context& ctx);
void add_consume_command(CLI::App& app, context& ctx);
void add_group_commands(CLI::App& app, context& ctx);
// ferry cluster status (cluster_cmd.cpp).
void add_cluster_commands(CLI::App& app, context& ctx);
void add_health_command(CLI::App& app, context& ctx);
void add_security_commands(CLI::App& app, context& ctx);

}  // namespace ferry::cli
