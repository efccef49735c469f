// The `ferry` CLI against a real ferryd: exit codes, output, and the broker's reasons.
#include <algorithm>
#include <cstdio>
#include <string>

#include <catch2/catch.hpp>

#include "tests/support/broker_process.h"
#include "tests/support/test_helpers.h"

using ferry::testing::broker_process;
using ferry::testing::command_outcome;
using ferry::testing::run_command;

namespace {

// Runs `ferry --broker HOST:PORT ARGS` (through sh, so ARGS may pipe stdin in).
command_outcome run_cli(const broker_process& b, const std::string& args,
                        const std::string& stdin_text = {}) {
  std::string cmd;
  if (!stdin_text.empty()) cmd.append("printf '%b' '").append(stdin_text).append("' | ");
  cmd.append(FERRY_CLI_PATH).append(" --broker ").append(b.host()).append(":");
  cmd.append(std::to_string(b.port())).append(" ").append(args);
  return run_command(cmd);
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

TEST_CASE("ferry CLI: log topics, pub with keys and partitions, consume and groups", "[cli][log]") {
  broker_process b;
  CHECK(run_cli(b, "topic create ev --kind log --partitions 3 --retention-ms 3600000").status == 0);
  auto one = run_cli(b, "pub ev --key a --verbose hello");
  CHECK(one.status == 0);
  CHECK(one.out == "1\t0\n");  // partition_for_key("a", 3) == 1, first offset
  auto lines = run_cli(b, "pub ev --partition 2 --verbose", "two\\nthree\\n");
  CHECK(lines.status == 0);
  CHECK(lines.out == "2\t0\n2\t1\n");
  auto bad = run_cli(b, "pub ev --partition 3 x");
  CHECK(bad.status == 1);
  CHECK(bad.out.find("PARTITION_NOT_FOUND") != std::string::npos);
  auto all = run_cli(b, "consume ev --from earliest --count 3 --verbose");
  CHECK(all.status == 0);
  CHECK(all.out.find("1\t0\thello\n") != std::string::npos);
  CHECK(all.out.find("2\t0\ttwo\n2\t1\tthree\n") != std::string::npos);
  auto p2 = run_cli(b, "consume ev --partition 2 --from offset:1 --timeout-ms 300");
  CHECK(p2.status == 0);
  CHECK(p2.out == "three\n");
  auto desc = run_cli(b, "topic describe ev");
  CHECK(desc.out.find("partition 2: log_start=0 log_end=2") != std::string::npos);
  CHECK(desc.out.find("retention_ms: 3600000") != std::string::npos);
  CHECK(run_cli(b, "consume ev --from yesterday").status == 2);
  CHECK(run_cli(b, "consume missing --timeout-ms 100").status == 1);
}

TEST_CASE("ferry CLI: consume --group commits what it printed, group list and describe",
          "[cli][log][group]") {
  broker_process b;
  CHECK(run_cli(b, "topic create jobs --kind log --partitions 2").status == 0);
  CHECK(run_cli(b, "pub jobs", "a\\nb\\nc\\nd\\n").status == 0);
  auto first = run_cli(b, "consume jobs --group workers --count 2 --timeout-ms 5000");
  CHECK(first.status == 0);
  auto list = run_cli(b, "group list");
  CHECK(list.status == 0);
  CHECK(list.out == "workers\tjobs\tmembers=0\tlag=2\n");
  auto second = run_cli(b, "consume jobs --group workers --count 2 --timeout-ms 5000");
  CHECK(second.status == 0);
  std::string all = first.out;
  all.append(second.out);
  for (const char* line : {"a\n", "b\n", "c\n", "d\n"})
    CHECK(all.find(line) != std::string::npos);
  CHECK(all.size() == 8);  // each exactly once
  auto desc = run_cli(b, "group describe workers");
  CHECK(desc.status == 0);
  CHECK(desc.out.find("topic: jobs") != std::string::npos);
  CHECK(desc.out.find("partition 0: committed=2 log_start=0 log_end=2 lag=0 owner=-") !=
        std::string::npos);
  CHECK(desc.out.find("partition 1: committed=2 log_start=0 log_end=2 lag=0 owner=-") !=
        std::string::npos);
  auto none = run_cli(b, "group describe nobody");
  CHECK(none.status == 1);
  CHECK(none.out.find("GROUP_NOT_FOUND") != std::string::npos);
}

TEST_CASE("ferry CLI: group reset-offsets and sub purge", "[cli][log][group]") {
  broker_process b;
  CHECK(run_cli(b, "topic create jobs --kind log --partitions 2").status == 0);
  CHECK(run_cli(b, "pub jobs --partition 0", "a\\nb\\nc\\n").status == 0);
  auto latest = run_cli(b, "group reset-offsets workers --topic jobs --to latest");
  CHECK(latest.status == 0);
  CHECK(latest.out == "partition 0: offset 3\npartition 1: offset 0\n");
  auto one = run_cli(b, "group reset-offsets workers --topic jobs --to offset:1 --partition 0");
  CHECK(one.out == "partition 0: offset 1\n");
  auto replay = run_cli(b, "consume jobs --group workers --count 2 --timeout-ms 5000");
  CHECK(replay.out == "b\nc\n");  // from the offset the reset set
  auto bad = run_cli(b, "group reset-offsets workers --topic jobs --to yesterday");
  CHECK(bad.status == 2);

  CHECK(run_cli(b, "topic create orders").status == 0);
  CHECK(run_cli(b, "sub create orders audit").status == 0);
  CHECK(run_cli(b, "pub orders", "x\\ny\\n").status == 0);
  auto purged = run_cli(b, "sub purge audit");
  CHECK(purged.status == 0);
  CHECK(purged.out == "purged 2\n");
  CHECK(run_cli(b, "sub purge nobody").status == 1);
}

TEST_CASE("ferry CLI: pub --delay-ms, scheduled list and cancel", "[cli][schedule]") {
  broker_process b;
  REQUIRE(run_cli(b, "topic create orders").status == 0);
  auto first = run_cli(b, "pub orders first --delay-ms 600000 --verbose");
  auto second = run_cli(b, "pub orders second --delay-ms 900000 --key k2");
  REQUIRE(first.status == 0);
  REQUIRE(second.status == 0);
  auto list = run_cli(b, "scheduled list orders");
  INFO(list.out);
  REQUIRE(list.status == 0);
  CHECK(list.out.find("waiting: 2\n") != std::string::npos);
  CHECK(list.out.find("next_due: ") != std::string::npos);
  CHECK(list.out.find("key=k2") != std::string::npos);
  // The first line after the header is the first due: its id is the first field.
  const auto at = list.out.find('\n', list.out.find("next_due: ")) + 1;
  const std::string id = list.out.substr(at, list.out.find('\t', at) - at);
  CHECK(first.out.find(id) != std::string::npos);  // pub printed the same id
  auto cancel = run_cli(b, "scheduled cancel orders " + id);
  CHECK(cancel.status == 0);
  CHECK(cancel.out == "cancelled " + id + "\n");
  CHECK(run_cli(b, "scheduled list orders").out.find("waiting: 1\n") != std::string::npos);
  auto again = run_cli(b, "scheduled cancel orders " + id);
  CHECK(again.status == 1);
  CHECK(again.out.find("SCHEDULED_NOT_FOUND") != std::string::npos);
  CHECK(run_cli(b, "scheduled list orders --limit 0").status == 2);
}

TEST_CASE("ferry CLI: a shared subscription on a log topic, through sub and consume",
          "[cli][shares]") {
  broker_process b;
  REQUIRE(run_cli(b, "topic create events --kind log --partitions 2").status == 0);
  REQUIRE(run_cli(b, "sub create events work").status == 0);
  REQUIRE(run_cli(b, "pub events", "a\\nb\\nc\\nd\\n").status == 0);
  auto two = run_cli(b, "consume events --subscription work --count 2 --timeout-ms 3000");
  CHECK(two.status == 0);
  CHECK(std::count(two.out.begin(), two.out.end(), '\n') == 2);
  auto rest = run_cli(b, "sub events --subscription work --count 2 --timeout-ms 3000");
  CHECK(rest.status == 0);
  for (const char* line : {"a\n", "b\n", "c\n", "d\n"})  // each record once, acked
    CHECK((two.out + rest.out).find(line) != std::string::npos);
  CHECK(run_cli(b, "consume events --subscription work --timeout-ms 300").out.empty());
  auto desc = run_cli(b, "sub describe work");
  CHECK(desc.out.find("acked: 4") != std::string::npos);
  CHECK(run_cli(b, "consume events --subscription work --group g").status == 2);
}
