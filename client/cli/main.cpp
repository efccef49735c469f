// ferry: the command-line client of the ferry broker.
//
//   ferry [--broker HOST:PORT[,HOST:PORT...]] [--timeout-ms MS]
//         [--user U --password P | --token T]
//         [--tls [--ca-file F] [--cert-file F --key-file F]] COMMAND ...
//   topic create|list|describe|delete    sub create|list|describe|delete|purge
//   pub TOPIC [MESSAGE]                  sub PATTERN (subscribe)       request TOPIC MESSAGE
//   consume TOPIC (log topics)           group list|describe|reset-offsets
//   health (GET /readyz on the HTTP listener)   cluster status
//   user create|delete|list|passwd       token create|revoke|list      acl add|remove|list
//   whoami
// Credentials: --user/--password (SCRAM-SHA-256) or --token, or $FERRY_USER ...
//
// Exit codes: 0 success, 1 the broker refused or an error happened (printed as
// "error: CODE: message"), 2 usage error.
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "client/cli/common.h"

namespace {

bool is_sub_admin_word(const std::string& s) {
  return s == "create" || s == "list" || s == "describe" || s == "delete" || s == "purge" ||
         s == "-h" || s == "--help";
}

// `sub` is both the subscription command group and "subscribe": `ferry sub create ...`
// manages, `ferry sub PATTERN ...` subscribes. CLI11 cannot express a group that is also
// a command, so the subscribe form is renamed to the `subscribe` command before parsing.
std::vector<std::string> rewrite_sub(int argc, char** argv) {
  std::vector<std::string> args(argv, argv + argc);
  for (size_t i = 1; i < args.size(); ++i) {
    const std::string& a = args[i];
    if (a == "--broker" || a == "--timeout-ms" || a == "--user" || a == "--password" ||
        a == "--token" || a == "--ca-file" || a == "--cert-file" || a == "--key-file") {
      ++i;  // its value
      continue;
    }
    if (a.rfind("-", 0) == 0) continue;  // --broker=..., --help
    if (a == "sub" && i + 1 < args.size() && !is_sub_admin_word(args[i + 1])) args[i] = "subscribe";
    break;  // the first command word decides
  }
  return args;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace ferry::cli;
  context ctx;
  CLI::App app{"ferry: command-line client of the ferry message broker", "ferry"};
  app.require_subcommand(1);
  app.fallthrough();
  app.add_option("--broker", ctx.g.broker, "broker HOST:PORT, or several as A,B,...: tried in turn")
      ->envname("FERRY_BROKER")
      ->capture_default_str();
  app.add_option("--timeout-ms", ctx.g.timeout_ms, "timeout of each request to the broker")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  app.add_option("--user", ctx.g.user, "log in as this user, SCRAM-SHA-256 (env FERRY_USER)")
      ->envname("FERRY_USER");
  app.add_option("--password", ctx.g.password,
                 "the user's password; it never crosses the wire (env FERRY_PASSWORD)")
      ->envname("FERRY_PASSWORD");
  app.add_option("--token", ctx.g.token, "log in with a token instead (env FERRY_TOKEN)")
      ->envname("FERRY_TOKEN")
      ->excludes("--user");
  app.add_flag("--tls", ctx.g.tls,
               "connect with TLS; the broker's name is verified (env FERRY_TLS)")
      ->envname("FERRY_TLS");
  app.add_option("--ca-file", ctx.g.ca_file,
                 "PEM CAs to verify the broker with, instead of the system's; implies --tls "
                 "(env FERRY_CA_FILE)")
      ->envname("FERRY_CA_FILE");
  app.add_option("--cert-file", ctx.g.cert_file,
                 "PEM client certificate for mutual TLS; implies --tls (env FERRY_CERT_FILE)")
      ->envname("FERRY_CERT_FILE");
  app.add_option("--key-file", ctx.g.key_file, "PEM key of --cert-file (env FERRY_KEY_FILE)")
      ->envname("FERRY_KEY_FILE");

  add_topic_commands(app, ctx);
  auto* sub = app.add_subcommand(
      "sub", "manage subscriptions (create|list|describe|delete|purge), or subscribe: sub PATTERN");
  sub->require_subcommand(1);
  add_sub_admin_commands(*sub, ctx);
  add_subscribe_command(app, ctx);
  add_pub_command(app, ctx);
  add_scheduled_commands(app, ctx);
  add_request_command(app, ctx);
  add_consume_command(app, ctx);
  add_group_commands(app, ctx);
  add_cluster_commands(app, ctx);
  add_health_command(app, ctx);
  add_security_commands(app, ctx);

  std::vector<std::string> args = rewrite_sub(argc, argv);
  std::vector<char*> cargs;
  for (auto& a : args)
    cargs.push_back(a.data());
  try {
    app.parse(static_cast<int>(cargs.size()), cargs.data());
  } catch (const CLI::ParseError& e) {
    int code = app.exit(e);  // prints help or the parse error
    return code == 0 ? exit_ok : exit_usage;
  }
  return ctx.run ? ctx.run() : exit_usage;
}
