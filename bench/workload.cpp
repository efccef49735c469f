// Workload files: one YAML map per file, every key a field of `workload` (README.md in
// bench/workloads/ documents them). Strict: an unknown key, a repeated key, a value of the
// wrong type or out of range, or a setting that contradicts another is an error naming the
// key, so a typo never silently runs a different benchmark.
#include "bench/workload.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <functional>
#include <limits>
#include <set>

#include <yaml-cpp/yaml.h>

namespace ferry::bench {
namespace {

// Each parser returns an error ("expected ...") or empty; the caller prefixes the key.
std::string parse_uint(const std::string& s, uint64_t max, uint64_t& out) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || v > max) {
    std::string err = "expected an integer from 0 to ";
    err.append(std::to_string(max)).append(", got '").append(s).append("'");
    return err;
  }
  out = v;
  return {};
}

template <typename T>
std::function<std::string(const std::string&, workload&)> uint_field(T workload::*field,
                                                                     uint64_t min = 0) {
  return [field, min](const std::string& s, workload& w) -> std::string {
    uint64_t v = 0;
    if (auto err = parse_uint(s, std::numeric_limits<T>::max(), v); !err.empty()) return err;
    if (v < min) {
      std::string err = "must be at least ";
      return err.append(std::to_string(min));
    }
    w.*field = static_cast<T>(v);
    return {};
  };
}

std::function<std::string(const std::string&, workload&)> real_field(double workload::*field,
                                                                     double min, double max) {
  return [field, min, max](const std::string& s, workload& w) -> std::string {
    char* end = nullptr;
    double v = std::strtod(s.c_str(), &end);
    if (s.empty() || end != s.c_str() + s.size() || !std::isfinite(v) || v < min || v > max) {
      std::string err = "expected a number from ";
      err.append(std::to_string(min)).append(" to ").append(std::to_string(max));
      return err.append(", got '").append(s).append("'");
    }
    w.*field = v;
    return {};
  };
}

std::function<std::string(const std::string&, workload&)> bool_field(bool workload::*field) {
  return [field](const std::string& s, workload& w) -> std::string {
    if (s == "true") {
      w.*field = true;
    } else if (s == "false") {
      w.*field = false;
    } else {
      std::string err = "expected true or false, got '";
      return err.append(s).append("'");
    }
    return {};
  };
}

struct key_row {
  const char* key;
  std::function<std::string(const std::string&, workload&)> set;
};

const std::vector<key_row>& key_table() {
  static const std::vector<key_row> rows = {
      {"name", [](const std::string& s, workload& w) { return (w.name = s, std::string()); }},
      {"description",
       [](const std::string& s, workload& w) { return (w.description = s, std::string()); }},
      {"kind",
       [](const std::string& s, workload& w) -> std::string {
         if (s == "memory") {
           w.kind = topic_kind::memory;
         } else if (s == "log") {
           w.kind = topic_kind::log;
         } else {
           std::string err = "expected memory or log, got '";
           return err.append(s).append("'");
         }
         return {};
       }},
      {"topics", uint_field(&workload::topics, 1)},
      {"partitions_per_topic", uint_field(&workload::partitions_per_topic, 1)},
      {"message_size", uint_field(&workload::message_size, 16)},
      {"random_payload_ratio", real_field(&workload::random_payload_ratio, 0, 1)},
      {"producers_per_topic", uint_field(&workload::producers_per_topic)},
      {"subscriptions_per_topic", uint_field(&workload::subscriptions_per_topic)},
      {"consumers_per_subscription", uint_field(&workload::consumers_per_subscription, 1)},
      {"consumer_acks", bool_field(&workload::consumer_acks)},
      {"confirms", bool_field(&workload::confirms)},
      {"ephemeral", bool_field(&workload::ephemeral)},
      {"shared", bool_field(&workload::shared)},
      {"request_reply", bool_field(&workload::request_reply)},
      {"group_churn", bool_field(&workload::group_churn)},
      {"producer_rate", uint_field(&workload::producer_rate)},
      {"warmup_s", real_field(&workload::warmup_s, 0, 3600)},
      {"duration_s", real_field(&workload::duration_s, 0.001, 24 * 3600)},
      {"durability",
       [](const std::string& s, workload& w) -> std::string {
         if (s == "none") {
           w.durable = durability::none;
         } else if (s == "fsync-always") {
           w.durable = durability::fsync_always;
         } else if (s == "fsync-interval") {
           w.durable = durability::fsync_interval;
         } else {
           std::string err = "expected none, fsync-always or fsync-interval, got '";
           return err.append(s).append("'");
         }
         return {};
       }},
      {"catchup_bytes", uint_field(&workload::catchup_bytes)},
      {"idle_connections", uint_field(&workload::idle_connections)},
      {"idle_topics", uint_field(&workload::idle_topics)},
      {"cold_read", bool_field(&workload::cold_read)},
      {"restart", bool_field(&workload::restart)},
  };
  return rows;
}

// Settings that contradict each other; the error names the key to change.
std::string check(const workload& w) {
  bool memory = w.kind == topic_kind::memory;
  // A catch-up or backlog writer has nothing but confirms bounding what it has in flight.
  if (!w.confirms && w.catchup_bytes != 0)
    return "confirms: a catch-up or backlog run writes with confirms (set true)";
  if (memory && w.partitions_per_topic != 1)
    return "partitions_per_topic: memory topics have one queue; use kind: log";
  if (memory && w.durable != durability::none)
    return "durability: memory topics keep nothing on disk; use kind: log";
  if (memory && w.catchup_bytes != 0 && (w.ephemeral || !w.consumer_acks))
    return "catchup_bytes: a memory backlog waits in durable subscriptions drained with acks "
           "(ephemeral: false, consumer_acks: true)";
  if (!memory && w.ephemeral) return "ephemeral: log topics have no ephemeral subscriptions";
  if (memory && w.shared) return "shared: shared subscriptions read log topics; use kind: log";
  if (w.shared && w.catchup_bytes != 0) return "catchup_bytes: catch-up runs use log readers";
  if (w.ephemeral && w.consumers_per_subscription != 1)
    return "consumers_per_subscription: an ephemeral subscription has one consumer";
  if (w.producers_per_topic == 0 && w.idle_connections == 0)
    return "producers_per_topic: 0 publishes nothing (only for idle_connections workloads)";
  if (w.catchup_bytes != 0 && w.producer_rate != 0)
    return "producer_rate: a catch-up run writes as fast as it can (set 0)";
  if (w.request_reply && (!memory || w.topics != 1 || w.subscriptions_per_topic != 1 ||
                          w.producer_rate != 0 || w.catchup_bytes != 0 || w.consumer_acks))
    return "request_reply: one memory topic, one subscription of auto-acking responders, "
           "requesters at max rate (topics: 1, subscriptions_per_topic: 1, consumer_acks: "
           "false, producer_rate: 0, no catchup_bytes)";
  if (w.group_churn && (memory || w.shared || w.topics != 1 || w.subscriptions_per_topic != 1 ||
                        w.producers_per_topic != 1 || w.producer_rate == 0 || w.catchup_bytes != 0))
    return "group_churn: one log topic, one producer at a fixed rate, one consumer group "
           "(topics: 1, producers_per_topic: 1, subscriptions_per_topic: 1, producer_rate > 0)";
  if (w.cold_read && (memory || w.catchup_bytes == 0))
    return "cold_read: only log catch-up runs (kind: log, catchup_bytes) read cold";
  if (w.idle_topics != 0 && memory) return "idle_topics: idle topics are log topics (kind: log)";
  if (w.restart && (memory || w.catchup_bytes == 0))
    return "restart: only log catch-up runs (kind: log, catchup_bytes) restart the server";
  if (w.catchup_bytes != 0 && w.subscriptions_per_topic == 0)
    return "subscriptions_per_topic: a catch-up run needs a reader";
  return {};
}

}  // namespace

bool load_workload(const std::string& path, workload& out, std::string& err) {
  auto fail = [&](const std::string& why) {
    err = path;
    err.append(": ").append(why);
    return false;
  };
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec))
    return fail("no such workload file (ferry-bench --list shows them)");
  YAML::Node root;
  try {
    root = YAML::LoadFile(path);
  } catch (const YAML::Exception& e) {
    return fail(e.what());
  }
  if (!root.IsMap()) return fail("expected a map of keys");
  workload w;
  std::string stem = std::filesystem::path(path).stem().string();
  w.name = stem;
  std::set<std::string> seen;
  for (const auto& kv : root) {
    if (!kv.first.IsScalar()) return fail("a key is not a plain word");
    const std::string key = kv.first.Scalar();
    const auto& rows = key_table();
    auto row =
        std::find_if(rows.begin(), rows.end(), [&](const key_row& r) { return key == r.key; });
    std::string why;
    if (row == rows.end()) {
      why = "unknown key (bench/workloads/README.md lists them)";
    } else if (!seen.insert(key).second) {
      why = "given twice";
    } else if (!kv.second.IsScalar()) {
      why = "expected a single value";
    } else {
      why = row->set(kv.second.Scalar(), w);
    }
    if (!why.empty()) return fail(key + ": " + why);
  }
  if (w.name != stem) {
    std::string why = "name: '";
    return fail(
        why.append(w.name).append("' differs from the file name '").append(stem).append("'"));
  }
  if (auto why = check(w); !why.empty()) return fail(why);
  out = std::move(w);
  return true;
}

std::vector<std::string> workload_files(const std::string& dir) {
  std::vector<std::string> files;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file(ec) && e.path().extension() == ".yaml")
      files.push_back(e.path().string());
  }
  std::sort(files.begin(), files.end());
  return files;
}

}  // namespace ferry::bench
