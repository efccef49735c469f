// The `ferry` CLI against a real ferryd: exit codes, output, and the broker's reasons.
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>
#include <sys/wait.h>

#include "tests/support/broker_process.h"

using ferry::testing::broker_process;

namespace {

struct outcome {
  int status;
  std::string out;  // stdout and stderr
};

// Runs `ferry --broker HOST:PORT ARGS` (through sh, so ARGS may pipe stdin in).
outcome run_cli(const broker_process& b, const std::string& args,
                const std::string& stdin_text = {}) {
  std::string cmd;
  if (!stdin_text.empty()) cmd.append("printf '%b' '").append(stdin_text).append("' | ");
  cmd.append(FERRY_CLI_PATH).append(" --broker ").append(b.host()).append(":");
  cmd.append(std::to_string(b.port())).append(" ").append(args).append(" 2>&1");
  FILE* p = ::popen(cmd.c_str(), "r");
  REQUIRE(p != nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while ((n = std::fread(buf, 1, sizeof buf, p)) > 0)
    out.append(buf, n);
  int st = ::pclose(p);
  return {WIFEXITED(st) ? WEXITSTATUS(st) : -1, out};
}

}  // namespace

TEST_CASE("ferry CLI: topics, subscriptions, pub and sub round trip", "[cli]") {
  broker_process b;
  CHECK(run_cli(b, "topic create orders.eu").status == 0);
  CHECK(run_cli(b, "sub create 'orders.*' billing --max-deliveries 5 --ack-timeout-ms 10000")
            .status == 0);
  auto pub = run_cli(b, "pub orders.eu", "one\\ntwo\\nthree\\n");
  CHECK(pub.status == 0);
  CHECK(run_cli(b, "pub orders.eu four").status == 0);
  auto sub = run_cli(b, "sub 'orders.*' --subscription billing --count 4 --timeout-ms 5000");
  CHECK(sub.status == 0);
  CHECK(sub.out == "one\ntwo\nthree\nfour\n");
  auto desc = run_cli(b, "sub describe billing");
  CHECK(desc.status == 0);
  CHECK(desc.out.find("acked: 4") != std::string::npos);
  CHECK(desc.out.find("max_deliveries: 5") != std::string::npos);
  auto list = run_cli(b, "topic list");
  CHECK(list.out.find("orders.eu") != std::string::npos);
  CHECK(run_cli(b, "sub delete billing").status == 0);
  CHECK(run_cli(b, "topic delete orders.eu").status == 0);
  CHECK(run_cli(b, "topic list").out.find("orders.eu") == std::string::npos);
}

TEST_CASE("ferry CLI: refusals exit non-zero with the broker's code and reason", "[cli]") {
  broker_process b({"--set", "limits.max_message_bytes=100"});
  auto r = run_cli(b, "pub missing.topic hello");
  CHECK(r.status == 1);
  CHECK(r.out.find("TOPIC_NOT_FOUND") != std::string::npos);
  CHECK(r.out.find("missing.topic") != std::string::npos);
  r = run_cli(b, "topic create 'bad..name'");
  CHECK(r.status == 1);
  CHECK(r.out.find("INVALID_NAME") != std::string::npos);
  CHECK(run_cli(b, "topic create t").status == 0);
  // One line of stdin is too large: the others are confirmed, the exit status says no.
  r = run_cli(b, "pub t", "ok\\n" + std::string(200, 'x') + "\\nok\\n");
  CHECK(r.status == 1);
  CHECK(r.out.find("MESSAGE_TOO_LARGE") != std::string::npos);
  CHECK(run_cli(b, "topic describe t").out.find("messages_published: 2") != std::string::npos);
  CHECK(run_cli(b, "no-such-command").status == 2);
}

TEST_CASE("ferry CLI: sub without a name is ephemeral and exits after its timeout", "[cli]") {
  broker_process b;
  CHECK(run_cli(b, "topic create news").status == 0);
  auto r = run_cli(b, "sub news --timeout-ms 300 --no-ack");
  CHECK(r.status == 0);
  CHECK(r.out.empty());
  CHECK(run_cli(b, "sub list").out.find("_ephemeral") == std::string::npos);  // gone with it
}
