#include "bench/workload.h"

#include <filesystem>
#include <fstream>
#include <set>

#include <catch2/catch.hpp>
#include <unistd.h>

namespace fb = ferry::bench;

namespace {

// Writes `text` as <tmp>/<name>.yaml and loads it; returns the error (empty when it loaded).
std::string load_text(const std::string& name, const std::string& text, fb::workload& w) {
  auto dir = std::filesystem::temp_directory_path() /
             ("ferry-bench-workload-test-" + std::to_string(::getpid()));
  std::filesystem::create_directories(dir);
  auto path = (dir / (name + ".yaml")).string();
  std::ofstream(path) << text;
  std::string err;
  fb::load_workload(path, w, err);
  std::filesystem::remove_all(dir);
  return err;
}

}  // namespace

TEST_CASE("the standard workload files load", "[bench][workload]") {
  std::set<std::string> names;
  for (const auto& file : fb::workload_files(FERRY_BENCH_WORKLOADS_DIR)) {
    fb::workload w;
    std::string err;
    INFO(file);
    CHECK(fb::load_workload(file, w, err));
    CHECK(err.empty());
    CHECK(!w.description.empty());
    names.insert(w.name);
  }
  for (const char* n : {"mem-throughput-100B", "mem-pubsub-100B", "mem-fanout-8", "mem-latency-5k",
                        "mem-latency-5k-acks", "log-durable-1KiB", "log-latency-5k",
                        "log-catchup-1GiB", "connections-10k"})
    CHECK(names.count(n) == 1);
}

TEST_CASE("a workload file sets every key", "[bench][workload]") {
  fb::workload w;
  auto err = load_text(
      "all-keys",
      "name: all-keys\ndescription: d\nkind: log\ntopics: 3\n"
      "partitions_per_topic: 4\nmessage_size: 512\nrandom_payload_ratio: 0.5\n"
      "producers_per_topic: 2\nsubscriptions_per_topic: 5\n"
      "consumers_per_subscription: 2\nconsumer_acks: false\nconfirms: false\nephemeral: false\n"
      "producer_rate: 7000\nwarmup_s: 1.5\nduration_s: 30\n"
      "durability: fsync-interval\ncatchup_bytes: 0\nidle_connections: 100\n",
      w);
  REQUIRE(err.empty());
  CHECK(w.name == "all-keys");
  CHECK(w.kind == fb::topic_kind::log);
  CHECK(w.topics == 3);
  CHECK(w.partitions_per_topic == 4);
  CHECK(w.message_size == 512);
  CHECK(w.random_payload_ratio == 0.5);
  CHECK(w.producers_per_topic == 2);
  CHECK(w.subscriptions_per_topic == 5);
  CHECK(w.consumers_per_subscription == 2);
  CHECK(!w.consumer_acks);
  CHECK(!w.confirms);
  CHECK(w.producer_rate == 7000);
  CHECK(w.warmup_s == 1.5);
  CHECK(w.duration_s == 30);
  CHECK(w.durable == fb::durability::fsync_interval);
  CHECK(w.idle_connections == 100);
}

TEST_CASE("workload errors name the key", "[bench][workload]") {
  fb::workload w;
  auto error_of = [&](const std::string& text) { return load_text("bad", text, w); };
  CHECK_THAT(error_of("mesage_size: 100\n"), Catch::Contains("mesage_size: unknown key"));
  CHECK_THAT(error_of("message_size: 8\n"), Catch::Contains("message_size: must be at least 16"));
  CHECK_THAT(error_of("message_size: -5\n"), Catch::Contains("message_size: expected"));
  CHECK_THAT(error_of("topics: many\n"), Catch::Contains("topics: expected"));
  CHECK_THAT(error_of("kind: queue\n"), Catch::Contains("kind: expected memory or log"));
  CHECK_THAT(error_of("ephemeral: yes\n"), Catch::Contains("ephemeral: expected true or false"));
  CHECK_THAT(error_of("random_payload_ratio: 2\n"), Catch::Contains("random_payload_ratio:"));
  CHECK_THAT(error_of("durability: fsync-always\n"), Catch::Contains("durability: memory topics"));
  CHECK_THAT(error_of("kind: log\ndurability: sometimes\n"),
             Catch::Contains("durability: expected"));
  CHECK_THAT(error_of("topics: 1\ntopics: 2\n"), Catch::Contains("topics: given twice"));
  CHECK_THAT(error_of("topics: [1, 2]\n"), Catch::Contains("topics: expected a single value"));
  CHECK_THAT(error_of("name: other\n"), Catch::Contains("name: 'other' differs"));
  CHECK_THAT(error_of("window: 10\n"), Catch::Contains("window: unknown key"));
  CHECK_THAT(error_of("ephemeral: true\nconsumers_per_subscription: 2\n"),
             Catch::Contains("consumers_per_subscription:"));
  CHECK_THAT(error_of("producers_per_topic: 0\n"), Catch::Contains("producers_per_topic:"));
  CHECK_THAT(error_of("catchup_bytes: 1000\nconfirms: false\n"), Catch::Contains("confirms:"));
  // A memory backlog waits in durable subscriptions that are drained with acks.
  CHECK(error_of("catchup_bytes: 1000\n").empty());
  CHECK_THAT(error_of("catchup_bytes: 1000\nephemeral: true\n"),
             Catch::Contains("catchup_bytes: a memory backlog"));
  CHECK_THAT(error_of("catchup_bytes: 1000\nconsumer_acks: false\n"),
             Catch::Contains("catchup_bytes: a memory backlog"));
  CHECK_THAT(error_of("- a\n- b\n"), Catch::Contains("expected a map"));
  std::string err;
  CHECK(!fb::load_workload("/nonexistent/x.yaml", w, err));
  CHECK_THAT(err, Catch::Contains("no such workload file"));
}
