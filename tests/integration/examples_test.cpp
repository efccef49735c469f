// The event-driven example (examples/README.md): the login service and the audit service,
// as built, against a real ferryd. The audit file must hold every published event exactly
// once, whichever service starts first and across a restart of the audit service.
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <thread>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"

using ferry::testing::broker_process;
using ferry::testing::make_temp_dir;

namespace {

// Runs a command line (bounded by coreutils' timeout); its exit status and output.
struct outcome {
  int status;
  std::string output;
};

outcome run(const std::string& command) {
  FILE* p = ::popen(("timeout 60 " + command + " 2>&1").c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof buf, p))
    out.append(buf, n);
  const int rc = ::pclose(p);
  return {WIFEXITED(rc) ? WEXITSTATUS(rc) : -1, out};
}

std::string broker_arg(const broker_process& b) {
  return " --broker " + b.host() + ":" + std::to_string(b.port());
}

outcome login(const broker_process& b, int count) {
  return run(std::string(FERRY_LOGIN_PATH) + broker_arg(b) + " --interval-ms 0 --count " +
             std::to_string(count));
}

outcome audit(const broker_process& b, const std::string& file, int expect) {
  return run(std::string(FERRY_AUDIT_PATH) + broker_arg(b) + " --out " + file + " --expect " +
             std::to_string(expect));
}

// The audit file's events: id -> how often it appears; every line must be a whole event.
std::map<std::string, int> audited(const std::string& file) {
  std::map<std::string, int> ids;
  std::ifstream in(file);
  for (std::string line; std::getline(in, line);) {
    auto o = boost::json::parse(line).as_object();
    CHECK(o.at("type").as_string() == "user.login");
    CHECK(o.at("source").as_string() == "/examples/login-service");
    const std::string subject(o.at("subject").as_string());
    CHECK((subject == "alice" || subject == "bob" || subject == "carol"));
    CHECK(o.at("data").as_string() == "{\"user\":\"" + subject + "\",\"method\":\"password\"}");
    ++ids[std::string(o.at("id").as_string())];
  }
  return ids;
}

void check_each_once(const std::map<std::string, int>& ids, size_t expected) {
  CHECK(ids.size() == expected);
  for (const auto& [id, n] : ids) {
    INFO(id);
    CHECK(n == 1);
  }
}

}  // namespace

TEST_CASE("events published before the audit service starts are all audited, once", "[examples]") {
  broker_process b;
  const std::string file = make_temp_dir("ferry-audit") + "/audit.jsonl";
  auto l = login(b, 300);
  REQUIRE(l.status == 0);
  CHECK(l.output.find("published 300 events") != std::string::npos);
  auto a = audit(b, file, 300);
  INFO(a.output);
  REQUIRE(a.status == 0);
  check_each_once(audited(file), 300);
}

TEST_CASE("an audit service restarted midway neither loses nor repeats an event", "[examples]") {
  broker_process b;
  const std::string file = make_temp_dir("ferry-audit") + "/audit.jsonl";
  // The audit service runs while the login service publishes, and stops after 150 events
  // with more prefetched and unacked: those are requeued and come to its next run.
  outcome first{};
  std::thread consumer([&] { first = audit(b, file, 150); });
  std::this_thread::sleep_for(std::chrono::milliseconds(300));  // it declared its subscription
  auto l = login(b, 400);
  consumer.join();
  REQUIRE(l.status == 0);
  REQUIRE(first.status == 0);
  check_each_once(audited(file), 150);

  auto second = audit(b, file, 400);
  INFO(second.output);
  REQUIRE(second.status == 0);
  CHECK(second.output.find("audited 400 events") != std::string::npos);
  check_each_once(audited(file), 400);
}

// The same pair over HTTP only (examples/http/): login.sh POSTs CloudEvents with curl,
// audit_handler.py is the handler of a push subscription. The README's five commands.
TEST_CASE("over HTTP only: every login is pushed to the audit handler and kept once",
          "[examples]") {
  broker_process b;
  const std::string dir = make_temp_dir("ferry-audit-http");
  const std::string file = dir + "/audit.jsonl";
  const std::string http = "127.0.0.1:" + std::to_string(b.http_port());
  // The handler on a free port, bounded in time, its address read from what it prints.
  REQUIRE(std::system(("timeout 60 python3 " FERRY_SOURCE_DIR "/examples/http/audit_handler.py "
                       "--port 0 --out " +
                       file + " > " + dir + "/handler.log 2>&1 & echo $! > " + dir + "/handler.pid")
                          .c_str()) == 0);
  std::string url;
  for (int i = 0; i < 100 && url.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::ifstream log(dir + "/handler.log");
    std::string line;
    if (std::getline(log, line) && line.starts_with("audit handler on ")) url = line.substr(17);
  }
  REQUIRE_FALSE(url.empty());
  auto curl = [&](const std::string& args) { return run("curl -fsS " + args); };
  REQUIRE(
      curl("-X POST " + http + "/v1/topics -d '{\"name\": \"user.login\", \"kind\": \"memory\"}'")
          .status == 0);
  REQUIRE(curl("-X POST " + http + "/v1/subscriptions -d '{\"name\": \"audit\", \"pattern\": " +
               "\"user.login\", \"options\": {\"push\": {\"url\": \"" + url + "\"}}}'")
              .status == 0);
  auto l = run("env FERRY_HTTP=" + http +
               " sh " FERRY_SOURCE_DIR
               "/examples/http/login.sh alice bob carol alice bob carol alice bob carol dave");
  INFO(l.output);
  REQUIRE(l.status == 0);
  std::map<std::string, int> ids;
  for (int i = 0; i < 100; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    ids.clear();
    std::ifstream in(file);
    for (std::string line; std::getline(in, line);) {
      auto o = boost::json::parse(line).as_object();
      CHECK(o.at("type").as_string() == "user.login");
      CHECK(o.at("data").at("user") == o.at("subject"));
      ++ids[std::string(o.at("id").as_string())];
    }
    if (ids.size() >= 10) break;
  }
  (void)std::system(("kill $(cat " + dir + "/handler.pid)").c_str());
  check_each_once(ids, 10);
}
