// ferry-login: the example's login service. Publishes one `user.login` CloudEvent per
// login (here: one every --interval-ms, for users taken in turn from --users) and waits
// for each confirm; a publish that fails (the broker restarting) is retried with the same
// CloudEvent id until it is confirmed, so a consumer can tell a retry from a new event.
//
//   ferry-login [--broker HOST:PORT] [--topic T] [--count N] [--interval-ms MS]
//               [--users a,b,c] [--source URI]
// --count 0 publishes until SIGTERM. Prints "published N events" at the end; exit 0.
#include <chrono>
#include <cstdio>
#include <random>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <CLI/CLI.hpp>

#include "examples/service.h"

using namespace ferry;
using namespace std::chrono_literals;

namespace {

int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::vector<std::string> split(const std::string& csv) {
  std::vector<std::string> out;
  std::stringstream in(csv);
  for (std::string part; std::getline(in, part, ',');)
    if (!part.empty()) out.push_back(part);
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  std::string broker = "127.0.0.1:7411", topic = "user.login", users_csv = "alice,bob,carol";
  std::string source = "/examples/login-service";
  uint64_t count = 0;
  int64_t interval_ms = 100;
  CLI::App app{"ferry-login: publishes user.login CloudEvents", "ferry-login"};
  app.add_option("--broker", broker, "broker HOST:PORT")->envname("FERRY_BROKER");
  app.add_option("--topic", topic, "topic to publish to")->envname("LOGIN_TOPIC");
  app.add_option("--count", count, "events to publish (0 = until SIGTERM)")->envname("LOGIN_COUNT");
  app.add_option("--interval-ms", interval_ms, "pause between events")
      ->envname("LOGIN_INTERVAL_MS");
  app.add_option("--users", users_csv, "users logging in, comma-separated");
  app.add_option("--source", source, "the CloudEvents source attribute");
  CLI11_PARSE(app, argc, argv);
  const auto users = split(users_csv);
  client::client_options opts;
  opts.client_id = "login-service";
  if (!examples::set_broker(opts, broker) || users.empty()) {
    std::fprintf(stderr, "ferry-login: --broker HOST:PORT and at least one user, please\n");
    return 2;
  }
  examples::stop_on_signals();

  // The audit service's subscription is declared here too: events published before the
  // audit service first starts wait for it instead of going nowhere.
  auto c = examples::connect_and_declare(opts, topic, "audit", "ferry-login");
  if (!c) return 1;

  // Ids unique across runs: this run's random prefix and a sequence.
  char run[9];
  std::snprintf(run, sizeof run, "%08x", static_cast<unsigned>(std::random_device{}()));
  uint64_t published = 0;
  while ((count == 0 || published < count) && !examples::stop_requested) {
    const std::string& user = users[published % users.size()];
    client::message m;
    m.id = std::string(run) + "-" + std::to_string(published + 1);
    m.source = source;
    m.type = "user.login";
    m.subject = user;
    m.time_ms = unix_ms();
    m.content_type = "application/json";
    m.payload = "{\"user\":\"" + user + "\",\"method\":\"password\"}";
    auto r = c->publish(topic, m);
    if (!r) {
      std::fprintf(stderr, "ferry-login: publish %s: %s (retrying)\n", m.id.c_str(),
                   r.err().to_string().c_str());
      std::this_thread::sleep_for(200ms);
      continue;
    }
    ++published;
    if (interval_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(interval_ms));
  }
  std::printf("published %llu events\n", static_cast<unsigned long long>(published));
  return 0;
}
