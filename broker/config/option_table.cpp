#include "broker/config/option_table.h"

#include <algorithm>
#include <charconv>
#include <limits>

namespace ferry::broker {
namespace {

// A numeric setting stored in `T` fields; `refs` are the fields the row fills (one, or
// two when two subsystems read the same setting); the first is the one printed.
template <typename T>
using field_ref = T& (*)(broker_options&);

template <typename T>
option_row num_row(std::string name, std::string unit, std::string description,
                   std::vector<field_ref<T>> refs, uint64_t min,
                   uint64_t max = std::numeric_limits<uint64_t>::max()) {
  option_row r{std::move(name), std::move(unit), std::move(description), nullptr, nullptr};
  auto first = refs.front();
  r.get = [first](const broker_options& o) {
    return std::to_string(first(const_cast<broker_options&>(o)));
  };
  r.set = [refs, min, max, n = r.name](broker_options& o, std::string_view v) -> std::string {
    uint64_t x = 0;
    auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), x);
    if (ec != std::errc() || end != v.data() + v.size())
      return n + ": '" + std::string(v) + "' is not a non-negative integer";
    if (x < min || x > max)
      return n + ": " + std::string(v) + " is out of range [" + std::to_string(min) + ", " +
             std::to_string(max) + "]";
    for (auto ref : refs)
      ref(o) = static_cast<T>(x);
    return {};
  };
  return r;
}

// `allowed` empty: any value, and the empty one only if `may_be_empty`.
option_row string_row(std::string name, std::string description, field_ref<std::string> ref,
                      std::vector<std::string> allowed = {}, bool may_be_empty = false) {
  option_row r{std::move(name), "", std::move(description), nullptr, nullptr};
  r.get = [ref](const broker_options& o) { return ref(const_cast<broker_options&>(o)); };
  r.set = [ref, allowed, may_be_empty, n = r.name](broker_options& o,
                                                   std::string_view v) -> std::string {
    if (!allowed.empty() && std::find(allowed.begin(), allowed.end(), v) == allowed.end()) {
      std::string list;
      for (const auto& a : allowed)
        list += (list.empty() ? "" : ", ") + a;
      return n + ": '" + std::string(v) + "' is not one of " + list;
    }
    if (allowed.empty() && v.empty() && !may_be_empty) return n + ": must not be empty";
    ref(o) = std::string(v);
    return {};
  };
  return r;
}

option_row bool_row(std::string name, std::string description, field_ref<bool> ref) {
  option_row r{std::move(name), "", std::move(description), nullptr, nullptr};
  r.get = [ref](const broker_options& o) -> std::string {
    return ref(const_cast<broker_options&>(o)) ? "true" : "false";
  };
  r.set = [ref, n = r.name](broker_options& o, std::string_view v) -> std::string {
    if (v == "true" || v == "false") {
      ref(o) = v == "true";
      return {};
    }
    return n + ": '" + std::string(v) + "' is not true or false";
  };
  return r;
}

void add_net_rows(std::vector<option_row>& t) {
  constexpr uint64_t kib = 1024, mib = 1024 * kib, gib = 1024 * mib;
  t.push_back(
      string_row("net.listen",
                 "Address of the wire-protocol listener, HOST:PORT (port 0 picks a free port). A "
                 "non-loopback address needs auth.enabled or auth.allow_anonymous.",
                 [](broker_options& o) -> std::string& { return o.listen; }));
  t.push_back(num_row<uint32_t>(
      "limits.max_frame_bytes", "bytes",
      "Largest frame either side may send; a bigger length prefix closes the connection.",
      {[](broker_options& o) -> uint32_t& { return o.connection.max_frame_bytes; }}, 4 * kib,
      1 * gib));
  t.push_back(num_row<size_t>(
      "limits.max_message_bytes", "bytes",
      "Largest encoded message; bigger messages are refused with MESSAGE_TOO_LARGE.",
      {[](broker_options& o) -> size_t& { return o.queues.max_message_bytes; },
       [](broker_options& o) -> size_t& { return o.logs.max_message_bytes; }},
      1, 1 * gib));
  t.push_back(num_row<uint64_t>(
      "limits.max_connections", "",
      "Connections served at once; more are refused with RESOURCE_EXHAUSTED.",
      {[](broker_options& o) -> uint64_t& { return o.session.max_connections; }}, 1, 1'000'000));
  t.push_back(num_row<uint64_t>(
      "limits.max_pending_handshakes", "",
      "Connections still in their handshake (TLS and Hello) at once; more are refused with "
      "RESOURCE_EXHAUSTED.",
      {[](broker_options& o) -> uint64_t& { return o.session.max_pending_handshakes; }}, 1,
      1'000'000));
  t.push_back(num_row<size_t>(
      "limits.max_outbound_bytes", "bytes",
      "Unsent bytes queued for one connection before it is closed as a slow consumer.",
      {[](broker_options& o) -> size_t& { return o.connection.max_outbound_bytes; }}, 64 * kib,
      64 * gib));
  t.push_back(num_row<int64_t>(
      "limits.write_timeout_ms", "ms",
      "A write to a client that takes longer than this closes it as a slow consumer.",
      {[](broker_options& o) -> int64_t& { return o.connection.write_timeout_ms; }}, 10,
      3'600'000));
  t.push_back(num_row<int64_t>(
      "limits.handshake_timeout_ms", "ms",
      "A connection that sends no Hello within this time is closed.",
      {[](broker_options& o) -> int64_t& { return o.connection.handshake_timeout_ms; }}, 10,
      3'600'000));
  t.push_back(num_row<size_t>(
      "limits.max_deferred_publish_bytes", "bytes",
      "Publish frames held per connection while memory is over the high-water mark, before "
      "the broker stops reading from that connection.",
      {[](broker_options& o) -> size_t& { return o.session.max_deferred_publish_bytes; }}, 0,
      1 * gib));
}

void add_http_rows(std::vector<option_row>& t) {
  constexpr uint64_t kib = 1024, mib = 1024 * kib;
  t.push_back(string_row(
      "http.listen",
      "Address of the HTTP listener (probes, /metrics, the REST API, the dashboard), "
      "HOST:PORT; port 0 picks a free port; empty = no HTTP listener.",
      [](broker_options& o) -> std::string& { return o.http.listen; }, {}, true));
  t.push_back(num_row<uint64_t>(
      "http.max_connections", "", "HTTP connections served at once; more are answered 503.",
      {[](broker_options& o) -> uint64_t& { return o.http.max_connections; }}, 1, 100'000));
  t.push_back(num_row<uint64_t>(
      "http.max_body_bytes", "bytes", "Largest request body; a bigger one is answered 413.",
      {[](broker_options& o) -> uint64_t& { return o.http.max_body_bytes; }}, 1 * kib, 256 * mib));
  t.push_back(num_row<uint64_t>(
      "http.max_header_bytes", "bytes",
      "Largest request line and headers; bigger ones are answered 431.",
      {[](broker_options& o) -> uint64_t& { return o.http.max_header_bytes; }}, 1 * kib, 1 * mib));
  t.push_back(num_row<uint64_t>(
      "http.idle_timeout_ms", "ms",
      "A keep-alive connection with no request under way is closed after this long.",
      {[](broker_options& o) -> uint64_t& { return o.http.idle_timeout_ms; }}, 10, 3'600'000));
  t.push_back(num_row<uint64_t>(
      "http.request_timeout_ms", "ms",
      "A request must arrive in full, and its answer be written, within this long (408).",
      {[](broker_options& o) -> uint64_t& { return o.http.request_timeout_ms; }}, 10, 3'600'000));
  t.push_back(num_row<uint64_t>(
      "http.idempotency_window_ms", "ms",
      "An HTTP publish retried within this long (same Idempotency-Key, or a CloudEvent with "
      "the same source and id) is confirmed again, not stored twice. Kept in memory only.",
      {[](broker_options& o) -> uint64_t& { return o.http.idempotency_window_ms; }}, 0,
      86'400'000));
  t.push_back(num_row<uint64_t>(
      "http.idempotency_keys", "",
      "Most keys of retried HTTP publishes remembered at once; the oldest go first.",
      {[](broker_options& o) -> uint64_t& { return o.http.idempotency_keys; }}, 0, 10'000'000));
  t.push_back(num_row<uint64_t>(
      "http.ws_max_message_bytes", "bytes",
      "Largest WebSocket message a client may send (closed with 1009 otherwise); delivery "
      "messages are cut at about this size too.",
      {[](broker_options& o) -> uint64_t& { return o.http.ws_max_message_bytes; }}, 1 * kib,
      256 * mib));
  t.push_back(num_row<uint64_t>(
      "http.ws_idle_timeout_ms", "ms",
      "A WebSocket that sends nothing for half of this is pinged, and closed after all of it.",
      {[](broker_options& o) -> uint64_t& { return o.http.ws_idle_timeout_ms; }}, 100, 3'600'000));
  t.push_back(num_row<uint64_t>(
      "http.ws_write_timeout_ms", "ms",
      "A WebSocket whose write takes longer than this does not read: it is cut off and its "
      "deliveries go back to the queue.",
      {[](broker_options& o) -> uint64_t& { return o.http.ws_write_timeout_ms; }}, 10, 3'600'000));
  t.push_back(num_row<uint64_t>(
      "http.ws_max_outbound_bytes", "bytes",
      "A WebSocket with more unsent output than this is cut off; deliveries to it pause at "
      "half of it (at most 4 MiB) until it reads.",
      {[](broker_options& o) -> uint64_t& { return o.http.ws_max_outbound_bytes; }}, 64 * kib,
      4096 * mib));
  t.push_back(num_row<uint64_t>(
      "metrics.max_topics", "",
      "Topics (with their subscriptions, partitions and groups) named one by one in /metrics; "
      "the others are summed into series labelled ~other.",
      {[](broker_options& o) -> uint64_t& { return o.http.metrics_max_topics; }}, 0, 1'000'000));
}

void add_memory_topic_rows(std::vector<option_row>& t) {
  constexpr uint64_t mib = 1024 * 1024, gib = 1024 * mib;
  t.push_back(num_row<uint32_t>(
      "memory_topics.default_prefetch", "messages",
      "Credit window of a consumer that asks for none.",
      {[](broker_options& o) -> uint32_t& { return o.queues.default_prefetch; }}, 1, 10'000'000));
  t.push_back(num_row<uint32_t>(
      "memory_topics.max_prefetch", "messages",
      "Largest credit window a consumer or log reader may ask for; bigger requests are capped.",
      {[](broker_options& o) -> uint32_t& { return o.queues.max_prefetch; },
       [](broker_options& o) -> uint32_t& { return o.logs.max_credit; }},
      1, 100'000'000));
  t.push_back(num_row<int64_t>(
      "memory_topics.default_ack_timeout_ms", "ms",
      "Ack lease of subscriptions that set none; an unsettled delivery is redelivered after it.",
      {[](broker_options& o) -> int64_t& { return o.queues.default_ack_timeout_ms; }}, 1,
      86'400'000));
  t.push_back(num_row<uint32_t>(
      "memory_topics.default_max_deliveries", "",
      "Deliveries after which a message is dead-lettered, for subscriptions that set none "
      "(0 = unlimited).",
      {[](broker_options& o) -> uint32_t& { return o.queues.default_max_deliveries; }}, 0,
      1'000'000));
  t.push_back(num_row<int64_t>(
      "memory_topics.dedup_window_ms", "ms",
      "How long an idle producer's last sequence is remembered for idempotent publishing.",
      {[](broker_options& o) -> int64_t& { return o.queues.dedup_window_ms; }}, 0, 86'400'000));
  t.push_back(num_row<int64_t>(
      "memory_topics.memory_high_watermark_bytes", "bytes",
      "Message memory above which publishers are slowed and told so (FLOW_BLOCKED).",
      {[](broker_options& o) -> int64_t& { return o.queues.memory_high_watermark_bytes; }}, 1 * mib,
      1024 * gib));
  t.push_back(num_row<int64_t>(
      "memory_topics.memory_low_watermark_bytes", "bytes",
      "Message memory under which publishers flow again (0 = 80% of the high-water mark).",
      {[](broker_options& o) -> int64_t& { return o.queues.memory_low_watermark_bytes; }}, 0,
      1024 * gib));
  t.push_back(num_row<int64_t>(
      "memory_topics.timer_tick_ms", "ms", "Resolution of ack-lease and TTL timers.",
      {[](broker_options& o) -> int64_t& { return o.queues.timer_tick_ms; }}, 1, 1000));
}

void add_log_topic_rows(std::vector<option_row>& t) {
  t.push_back(num_row<uint32_t>(
      "log_topics.default_credit", "records",
      "Records pushed to a log reader before it returns credit, for readers that ask for none.",
      {[](broker_options& o) -> uint32_t& { return o.logs.default_credit; }}, 1, 10'000'000));
  t.push_back(num_row<uint32_t>(
      "log_topics.max_partitions", "", "Most partitions a log topic may have.",
      {[](broker_options& o) -> uint32_t& { return o.logs.max_partitions; }}, 1, 65'536));
  t.push_back(num_row<int64_t>(
      "log_topics.default_retention_ms", "ms",
      "How long records of log topics that set no retention_ms are kept (0 = forever).",
      {[](broker_options& o) -> int64_t& { return o.logs.default_retention_ms; }}, 0,
      100ULL * 365 * 24 * 3600 * 1000));
  t.push_back(num_row<int64_t>(
      "log_topics.default_retention_bytes", "bytes",
      "Bytes kept per partition of log topics that set no retention_bytes (0 = unlimited).",
      {[](broker_options& o) -> int64_t& { return o.logs.default_retention_bytes; }}, 0,
      1ULL << 50));
  t.push_back(num_row<size_t>(
      "log_topics.tail_cache_bytes", "bytes",
      "Newest records kept in memory per partition, so readers at the tail need no disk read.",
      {[](broker_options& o) -> size_t& { return o.logs.tail_cache_bytes; }}, 0, 1ULL << 40));
  t.push_back(num_row<size_t>(
      "log_topics.read_batch_bytes", "bytes",
      "Bytes read from RocksDB at a time for a reader behind the tail.",
      {[](broker_options& o) -> size_t& { return o.logs.read_batch_bytes; }}, 4096, 1ULL << 30));
}

void add_auth_rows(std::vector<option_row>& t) {
  t.push_back(bool_row("auth.enabled",
                       "Clients must authenticate (SCRAM-SHA-256 or a token) and every request "
                       "passes the access rules (docs/SECURITY.md).",
                       [](broker_options& o) -> bool& { return o.auth.enabled; }));
  t.push_back(bool_row(
      "auth.allow_anonymous",
      "Serve without authentication on a non-loopback address: anyone who reaches the port "
      "may do anything (logged as a warning at start).",
      [](broker_options& o) -> bool& { return o.auth.allow_anonymous; }));
  t.push_back(string_row(
      "auth.bootstrap_user",
      "A user created at start, with ADMIN on the broker, if it does not exist; its password "
      "comes from $FERRY_AUTH_BOOTSTRAP_PASSWORD or auth.bootstrap_password_file. Empty = none.",
      [](broker_options& o) -> std::string& { return o.auth.bootstrap_user; }, {}, true));
  t.push_back(string_row(
      "auth.bootstrap_password_file",
      "A file holding the bootstrap user's password (its first line), e.g. a mounted secret.",
      [](broker_options& o) -> std::string& { return o.auth.bootstrap_password_file; }, {}, true));
}

void add_quota_rows(std::vector<option_row>& t) {
  t.push_back(num_row<uint64_t>(
      "quotas.max_connections", "",
      "Connections one principal may have open at once (0 = no limit); a user's quota can "
      "set its own.",
      {[](broker_options& o) -> uint64_t& { return o.quotas.max_connections; }}, 0, 1'000'000));
  t.push_back(num_row<uint64_t>(
      "quotas.publish_bytes_per_second", "bytes",
      "Publish bytes per second of one principal, over all its connections (0 = no limit); "
      "more is throttled: its connections stop being read, nothing is dropped.",
      {[](broker_options& o) -> uint64_t& { return o.quotas.publish_bytes_per_second; }}, 0,
      1ULL << 40));
  t.push_back(num_row<uint64_t>(
      "quotas.publish_messages_per_second", "messages",
      "Published messages per second of one principal (0 = no limit), throttled likewise.",
      {[](broker_options& o) -> uint64_t& { return o.quotas.publish_messages_per_second; }}, 0,
      1ULL << 40));
  t.push_back(num_row<uint64_t>(
      "quotas.max_frame_bytes", "bytes",
      "Largest frame one principal may send after its handshake (0 = limits.max_frame_bytes).",
      {[](broker_options& o) -> uint64_t& { return o.quotas.max_frame_bytes; }}, 0, 1ULL << 30));
}

void add_tls_rows(std::vector<option_row>& t) {
  t.push_back(bool_row("tls.enabled",
                       "Both listeners speak TLS 1.2 or 1.3 only, with the certificate below; "
                       "SIGHUP reads the files again for new connections.",
                       [](broker_options& o) -> bool& { return o.tls.enabled; }));
  t.push_back(string_row(
      "tls.cert_file", "PEM file of the broker's certificate and its chain.",
      [](broker_options& o) -> std::string& { return o.tls.cert_file; }, {}, true));
  t.push_back(string_row(
      "tls.key_file", "PEM file of the certificate's private key.",
      [](broker_options& o) -> std::string& { return o.tls.key_file; }, {}, true));
  t.push_back(string_row(
      "tls.ca_file", "PEM file of the CAs that sign client certificates (mutual TLS).",
      [](broker_options& o) -> std::string& { return o.tls.ca_file; }, {}, true));
  t.push_back(
      string_row("tls.client_auth",
                 "Client certificates: none, requested (verified when presented) or required; a "
                 "verified certificate's common name is the client's identity.",
                 [](broker_options& o) -> std::string& { return o.tls.client_auth; },
                 {"none", "requested", "required"}));
}

void add_cluster_rows(std::vector<option_row>& t) {
  t.push_back(string_row(
      "cluster.etcd",
      "etcd endpoints (http://HOST:PORT, comma-separated) of the cluster this node joins; "
      "empty = a single node, no cluster (docs/CLUSTER.md).",
      [](broker_options& o) -> std::string& { return o.cluster.etcd; }, {}, true));
  t.push_back(num_row<uint32_t>("cluster.node_id", "",
                                "This node's id in the cluster (1 or more), unique among its "
                                "nodes; the data dir remembers it (node.json).",
                                {[](broker_options& o) -> uint32_t& { return o.cluster.node_id; }},
                                0, std::numeric_limits<int32_t>::max()));
  t.push_back(bool_row("cluster.node_id_from_hostname",
                       "Take the node id from the host name's ordinal plus one (ferryd-0 is "
                       "node 1), as a Kubernetes StatefulSet names its pods; cluster.node_id "
                       "stays 0.",
                       [](broker_options& o) -> bool& { return o.cluster.node_id_from_hostname; }));
  t.push_back(string_row(
      "cluster.advertise",
      "HOST:PORT clients and the other nodes reach this node at; empty = the bound net.listen "
      "address.",
      [](broker_options& o) -> std::string& { return o.cluster.advertise; }, {}, true));
  t.push_back(string_row("cluster.prefix",
                         "The etcd key prefix under which the cluster keeps its keys.",
                         [](broker_options& o) -> std::string& { return o.cluster.prefix; }));
  t.push_back(num_row<int64_t>(
      "cluster.lease_ttl_s", "s",
      "A node that has not renewed its etcd lease for this long leaves the cluster (etcd may "
      "round it up to its own minimum).",
      {[](broker_options& o) -> int64_t& { return o.cluster.lease_ttl_s; }}, 1, 3600));
  t.push_back(num_row<int64_t>(
      "cluster.etcd_timeout_ms", "ms", "How long one call to etcd may take, per endpoint tried.",
      {[](broker_options& o) -> int64_t& { return o.cluster.etcd_timeout_ms; }}, 10, 60'000));
  t.push_back(num_row<int64_t>(
      "cluster.join_timeout_ms", "ms",
      "At start: how long the node keeps trying to register in etcd before it gives up.",
      {[](broker_options& o) -> int64_t& { return o.cluster.join_timeout_ms; }}, 0, 3'600'000));
}

void add_process_rows(std::vector<option_row>& t) {
  t.push_back(num_row<int64_t>(
      "shutdown.grace_ms", "ms",
      "On SIGTERM: how long in-flight requests may take to be answered and clients to be "
      "closed before ferryd exits anyway (a second SIGTERM exits at once).",
      {[](broker_options& o) -> int64_t& { return o.shutdown_grace_ms; }}, 0, 3'600'000));
  t.push_back(string_row(
      "storage.data_dir",
      "Directory of the broker's RocksDB data (log-topic records, definitions, offsets).",
      [](broker_options& o) -> std::string& { return o.data_dir; }));
  t.push_back(string_row("log.level",
                         "Log level: trace, debug, info, warn, error, critical or off.",
                         [](broker_options& o) -> std::string& { return o.log_level; },
                         {"trace", "debug", "info", "warn", "error", "critical", "off"}));
  t.push_back(string_row("log.format", "Log format: text or json (one object per line).",
                         [](broker_options& o) -> std::string& { return o.log_format; },
                         {"text", "json"}));
}

std::vector<option_row> make_table() {
  std::vector<option_row> t;
  add_net_rows(t);
  add_http_rows(t);
  add_memory_topic_rows(t);
  add_log_topic_rows(t);
  add_auth_rows(t);
  add_tls_rows(t);
  t.push_back(string_row(
      "push.ca_file",
      "PEM file of the CAs that https push endpoints' certificates must chain to; empty = "
      "the system's trust store.",
      [](broker_options& o) -> std::string& { return o.push.ca_file; }, {}, true));
  add_quota_rows(t);
  add_cluster_rows(t);
  add_process_rows(t);
  return t;
}

}  // namespace

std::string option_row::env_name() const {
  std::string e = "FERRY_";
  for (char c : name)
    e += c == '.' ? '_' : static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return e;
}

const std::vector<option_row>& option_table() {
  static const std::vector<option_row> table = make_table();
  return table;
}

const option_row* find_option(std::string_view name) {
  for (const auto& r : option_table())
    if (r.name == name) return &r;
  return nullptr;
}

bool is_loopback_address(std::string_view host_port) {
  std::string_view host = host_port.substr(0, host_port.rfind(':'));
  if (host.starts_with('[') && host.ends_with(']')) host = host.substr(1, host.size() - 2);
  return host == "localhost" || host == "::1" || host.starts_with("127.");
}

std::string check_options(const broker_options& o) {
  if (o.queues.max_message_bytes + 1024 > o.connection.max_frame_bytes)
    return "limits.max_message_bytes must be at least 1 KiB below limits.max_frame_bytes";
  if (o.queues.memory_low_watermark_bytes > o.queues.memory_high_watermark_bytes)
    return "memory_topics.memory_low_watermark_bytes is above the high-water mark";
  if (o.queues.default_prefetch > o.queues.max_prefetch)
    return "memory_topics.default_prefetch is above memory_topics.max_prefetch";
  if (o.tls.enabled && (o.tls.cert_file.empty() || o.tls.key_file.empty()))
    return "tls.enabled needs tls.cert_file and tls.key_file";
  if (o.tls.client_auth != "none" && (!o.tls.enabled || o.tls.ca_file.empty()))
    return "tls.client_auth " + o.tls.client_auth + " needs tls.enabled and tls.ca_file";
  if (o.cluster.enabled()) {
    if (o.cluster.node_id == 0 && !o.cluster.node_id_from_hostname)
      return "cluster.etcd needs cluster.node_id (1 or more) or cluster.node_id_from_hostname";
    if (o.cluster.node_id != 0 && o.cluster.node_id_from_hostname)
      return "set cluster.node_id or cluster.node_id_from_hostname, not both";
    std::vector<etcd_endpoint> endpoints;
    if (auto err = parse_etcd_endpoints(o.cluster.etcd, endpoints); !err.empty())
      return "cluster.etcd: " + err;
    if (!o.cluster.prefix.starts_with('/') || o.cluster.prefix.ends_with('/'))
      return "cluster.prefix must start with '/' and not end with it";
  }
  if (!o.auth.enabled && !o.auth.allow_anonymous) {
    for (const auto* address : {&o.listen, &o.http.listen})
      if (!address->empty() && !is_loopback_address(*address))
        return *address +
               " is not a loopback address and authentication is off: set auth.enabled: true "
               "(docs/SECURITY.md), or auth.allow_anonymous: true to serve it to anyone";
  }
  return {};
}

}  // namespace ferry::broker
