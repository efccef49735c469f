#include "bench/measurement.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

namespace ferry::bench {

// One reader's view: which sequences it saw (index seq / topics: a reader sees one topic),
// counts, and its latency. Written by the reader's thread only; `received` is also read by
// the publishing side (flow control), hence atomic (a relaxed load and store, no RMW).
struct measurement::reader {
  uint32_t topic = 0;
  std::vector<uint8_t> seen;          // per sequence of the topic: times received (saturating)
  std::atomic<uint64_t> received{0};  // every delivery, duplicates included (flow control)
  std::atomic<uint64_t> distinct{0};  // sequences seen at least once (drained)
  uint64_t in_window = 0, duplicates = 0, unexpected = 0;
  histogram latency_ns;
};

namespace {

int64_t since(steady::time_point t0, steady::time_point t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t - t0).count();
}

steady::duration seconds(double s) {
  return std::chrono::duration_cast<steady::duration>(std::chrono::duration<double>(s));
}

// How far apart, in payload bytes, the random bytes of two messages repeat: past LZ4's
// 64 KiB window and any storage block, so a log's compression finds nothing to shrink.
constexpr size_t random_pool_span = 1 << 20;

// The payload after the header: `ratio` of it random, the rest 'x' (the random bytes at the
// end, where the header does not overwrite them). The random bytes differ from message to
// message: each takes its own slice of a pool (one fixed seed: runs compare) that repeats
// only every random_pool_span bytes. The pool holds the 'x' part, then the random bytes.
size_t payload_size(const workload& w) {
  return std::max<uint32_t>(w.message_size, 16);
}

size_t random_bytes(const workload& w) {
  size_t n = payload_size(w);
  return std::min(
      n, static_cast<size_t>(std::llround(w.random_payload_ratio * static_cast<double>(n))));
}

std::string make_filler(const workload& w) {
  size_t n = payload_size(w), random = random_bytes(w);
  std::string f(n, 'x');
  if (random == 0) return f;
  f.resize(n + random_pool_span);
  std::mt19937 gen(20261123);
  for (size_t i = n - random; i < f.size(); ++i)
    f[i] = static_cast<char>(gen() & 0xff);
  return f;
}

}  // namespace

measurement::measurement(const workload& w, size_t readers)
    : w_(w),
      filler_(make_filler(w)),
      payload_size_(payload_size(w)),
      random_bytes_(random_bytes(w)) {
  size_t per_topic = std::max<size_t>(1, readers / std::max<uint32_t>(1, w_.topics));
  for (size_t i = 0; i < readers; ++i) {
    readers_.push_back(std::make_unique<reader>());
    readers_.back()->topic = static_cast<uint32_t>(std::min<size_t>(i / per_topic, w_.topics - 1));
  }
}

measurement::~measurement() = default;

void measurement::start(steady::time_point t0) {
  t0_ = t0;
  if (w_.catchup_bytes != 0) {
    // Catch-up runs time the reading (begin_catchup/catchup_finished), not a window.
    window_start_ = window_end_ = steady::time_point::max();
    return;
  }
  window_start_ = t0 + seconds(w_.warmup_s);
  window_end_ = window_start_ + seconds(w_.duration_s);
}

void measurement::begin_catchup() {
  if (prepare_) prepare_();
  catchup_start_ = steady::now();
}

steady::time_point measurement::due(uint64_t seq) const {
  // Exact in integers: seq / rate whole seconds plus the remainder's share.
  uint64_t rate = std::max<uint64_t>(w_.producer_rate, 1);
  uint64_t ns = (seq / rate) * 1'000'000'000 + (seq % rate) * 1'000'000'000 / rate;
  return t0_ + std::chrono::nanoseconds(ns);
}

std::string measurement::make_payload(uint64_t seq, steady::time_point intended) {
  std::string p;
  stamp(p, seq, intended);
  return p;
}

void measurement::stamp(std::string& payload, uint64_t seq, steady::time_point intended) {
  if (w_.producer_rate != 0 && in_window(intended))
    send_lag_.record(static_cast<uint64_t>(std::max<int64_t>(since(intended, steady::now()), 0)));
  if (random_bytes_ == 0) {
    payload.assign(filler_);
  } else {
    // The 'x' part, then this message's slice of the random pool.
    const size_t fixed = payload_size_ - random_bytes_;
    const size_t from = fixed + (seq * random_bytes_) % random_pool_span;
    payload.resize(payload_size_);
    std::memcpy(payload.data(), filler_.data(), fixed);
    std::memcpy(payload.data() + fixed, filler_.data() + from, random_bytes_);
  }
  int64_t at = since(t0_, intended);
  std::memcpy(payload.data(), &seq, 8);
  std::memcpy(payload.data() + 8, &at, 8);
}

void measurement::confirmed(uint64_t n, steady::time_point intended) {
  auto now = steady::now();
  confirmed_.fetch_add(n, std::memory_order_relaxed);
  if (!in_window(now)) return;
  confirmed_in_window_.fetch_add(n, std::memory_order_relaxed);
  auto lat = static_cast<uint64_t>(std::max<int64_t>(since(intended, now), 0));
  for (uint64_t i = 0; i < n; ++i)
    ack_latency_.record(lat);
}

void measurement::on_message(size_t r, std::string_view payload) {
  auto now = steady::now();
  reader& k = *readers_[r];
  uint64_t seq = 0;
  int64_t stamp = 0;
  bool ok = payload.size() >= 16;
  if (ok) {
    std::memcpy(&seq, payload.data(), 8);
    std::memcpy(&stamp, payload.data() + 8, 8);
    // Never sent, or not of this reader's topic: not one of ours (e.g. a leftover).
    ok = seq < sent_.load(std::memory_order_relaxed);
  }
  size_t i = seq;
  if (w_.topics != 1) {  // (no divisions on the common path)
    ok = ok && seq % w_.topics == k.topic;
    i = seq / w_.topics;
  }
  k.received.store(k.received.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  if (!ok) {
    ++k.unexpected;
    return;
  }
  if (i >= k.seen.size()) k.seen.resize(std::max<size_t>(i + 1, k.seen.size() * 2), 0);
  if (k.seen[i] != 0) {
    ++k.duplicates;
  } else {
    k.distinct.store(k.distinct.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
  }
  if (k.seen[i] != 255) ++k.seen[i];
  if (in_window(now)) {
    ++k.in_window;
    k.latency_ns.record(static_cast<uint64_t>(std::max<int64_t>(since(t0_, now) - stamp, 0)));
  }
}

uint64_t measurement::received(size_t r) const {
  return readers_[r]->received.load(std::memory_order_relaxed);
}

// With several topics a reader sees about 1/topics of what was sent: scaled, so that
// sent() - slowest_received() stays "messages in flight".
uint64_t measurement::slowest_received() const {
  uint64_t sent = sent_.load(std::memory_order_relaxed);
  uint64_t slowest = sent;
  for (const auto& k : readers_)
    slowest = std::min(slowest, k->received.load(std::memory_order_relaxed) * w_.topics);
  return slowest;
}

bool measurement::drained() const {
  uint64_t sent = sent_.load(std::memory_order_relaxed);
  for (const auto& k : readers_) {
    uint64_t expected = sent > k->topic ? (sent - k->topic + w_.topics - 1) / w_.topics : 0;
    if (k->distinct.load(std::memory_order_relaxed) < expected) return false;
  }
  return true;
}

void measurement::idle_topics(uint64_t created, int64_t rss_before, int64_t rss_after) {
  idle_topics_ = created;
  if (created != 0)
    bytes_per_topic_ = static_cast<double>(rss_after - rss_before) / static_cast<double>(created);
}

void measurement::idle_connections(uint64_t opened, int64_t rss_before, int64_t rss_after) {
  idle_opened_ = opened;
  rss_before_ = rss_before;
  rss_after_ = rss_after;
}

measurement::result measurement::finish(const std::string& system, double server_cpu_s,
                                        uint64_t server_peak_rss_bytes) const {
  result r;
  r.workload = w_.name;
  r.system = system;
  r.sent = sent_.load();
  r.confirmed = confirmed_.load();
  r.publish_errors = publish_errors_.load();
  uint64_t delivered_window = 0, received_all = 0;
  for (const auto& k : readers_) {
    uint64_t expected = r.sent > k->topic ? (r.sent - k->topic + w_.topics - 1) / w_.topics : 0;
    for (uint64_t i = 0; i < expected; ++i)
      if (i >= k->seen.size() || k->seen[i] == 0) ++r.lost;
    r.duplicated += k->duplicates + k->unexpected;
    delivered_window += k->in_window;
    received_all += k->received.load();
    r.e2e_latency_ns.merge(k->latency_ns);
  }
  r.ack_latency_ns = ack_latency_;
  r.send_lag_ns = send_lag_;
  if (w_.catchup_bytes != 0) {
    double secs = std::chrono::duration<double>(catchup_end_ - catchup_start_).count();
    r.delivered_per_s = secs > 0 ? static_cast<double>(received_all) / secs : 0;
  } else {
    r.delivered_per_s = static_cast<double>(delivered_window) / w_.duration_s;
    r.acked_per_s = static_cast<double>(confirmed_in_window_.load()) / w_.duration_s;
  }
  r.mb_per_s = r.delivered_per_s * w_.message_size / 1e6;
  r.server_cpu_s = server_cpu_s;
  r.server_peak_rss_bytes = server_peak_rss_bytes;
  r.idle_connections = idle_opened_;
  r.cold_file_bytes = cold_file_bytes_;
  r.cold_resident_bytes = cold_resident_bytes_;
  r.restart_s = restart_s_;
  r.idle_topics = idle_topics_;
  r.bytes_per_topic = bytes_per_topic_;
  if (idle_opened_ != 0)
    r.bytes_per_connection =
        static_cast<double>(rss_after_ - rss_before_) / static_cast<double>(idle_opened_);
  return r;
}

// ---- output ----

namespace {

void append_json_string(std::string& out, std::string_view s) {
  out.push_back('"');
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out.push_back('\\');
      out.push_back(c);
    } else if (static_cast<unsigned char>(c) < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(c));
      out.append(buf);
    } else {
      out.push_back(c);
    }
  }
  out.push_back('"');
}

std::string number(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, std::isfinite(v) ? v : 0.0);
  return buf;
}

void append_latency(std::string& out, const char* key, const histogram& h) {
  out.append(",\"").append(key).append("\":{\"count\":").append(std::to_string(h.count()));
  const std::pair<const char*, double> qs[] = {
      {"p50", 0.5}, {"p99", 0.99}, {"p999", 0.999}, {"p9999", 0.9999}};
  for (const auto& [name, q] : qs)
    out.append(",\"").append(name).append("\":").append(std::to_string(h.quantile(q)));
  out.append(",\"max\":").append(std::to_string(h.max()));
  out.append(",\"histogram\":").append(h.to_json()).append("}");
}

}  // namespace

std::string to_json(const measurement::result& r) {
  std::string j = "{";
  auto str = [&](const char* key, const std::string& v) {
    if (j.size() > 1) j.push_back(',');
    append_json_string(j, key);
    j.push_back(':');
    append_json_string(j, v);
  };
  auto num = [&](const char* key, const std::string& v) {
    j.push_back(',');
    append_json_string(j, key);
    j.append(":").append(v);
  };
  str("workload", r.workload);
  str("system", r.system);
  str("equivalence", r.equivalence);
  str("unsupported", r.unsupported);
  str("error", r.error);
  num("sent", std::to_string(r.sent));
  num("confirmed", std::to_string(r.confirmed));
  num("publish_errors", std::to_string(r.publish_errors));
  num("lost", std::to_string(r.lost));
  num("duplicated", std::to_string(r.duplicated));
  num("acked_per_s", number(r.acked_per_s, 0));
  num("delivered_per_s", number(r.delivered_per_s, 0));
  num("mb_per_s", number(r.mb_per_s, 3));
  num("server_cpu_s", number(r.server_cpu_s, 3));
  num("server_peak_rss_bytes", std::to_string(r.server_peak_rss_bytes));
  num("idle_connections", std::to_string(r.idle_connections));
  num("bytes_per_connection", number(r.bytes_per_connection, 0));
  num("bytes_per_message", number(r.bytes_per_message, 1));
  num("cold_file_bytes", std::to_string(r.cold_file_bytes));
  num("cold_resident_bytes", std::to_string(r.cold_resident_bytes));
  num("restart_s", number(r.restart_s, 3));
  num("idle_topics", std::to_string(r.idle_topics));
  num("bytes_per_topic", number(r.bytes_per_topic, 0));
  append_latency(j, "ack_latency_ns", r.ack_latency_ns);
  append_latency(j, "e2e_latency_ns", r.e2e_latency_ns);
  append_latency(j, "send_lag_ns", r.send_lag_ns);
  j.push_back('}');
  return j;
}

namespace {

constexpr int markdown_columns = 17;

// A Markdown cell: '|' would end it.
std::string cell(std::string_view s) {
  std::string out;
  for (char c : s) {
    if (c == '|') out.push_back('\\');
    out.push_back(c == '\n' ? ' ' : c);
  }
  return out;
}

std::string us(uint64_t ns) {
  return number(static_cast<double>(ns) / 1000.0, 1);
}

// workload | system | <text spanning the measured columns, then empty cells>
std::string text_row(const measurement::result& r, const std::string& text) {
  std::string row = "| ";
  row.append(cell(r.workload)).append(" | ").append(cell(r.system)).append(" | ");
  row.append(cell(text));
  for (int i = 3; i < markdown_columns; ++i)
    row.append(" |");
  return row.append(" |");
}

}  // namespace

std::string markdown_header() {
  std::string h =
      "| workload | system | acked msg/s | delivered msg/s | MB/s | ack p50 µs | ack p99 µs "
      "| ack p99.9 µs | e2e p50 µs | e2e p99 µs | e2e p99.9 µs | e2e p99.99 µs | e2e max µs "
      "| lost | dup | server CPU s | server peak RSS MiB |\n|";
  for (int i = 0; i < markdown_columns; ++i)
    h.append("---|");
  return h;
}

std::string to_markdown(const measurement::result& r) {
  if (!r.unsupported.empty()) {
    std::string text = "unsupported: ";
    return text_row(r, text.append(r.unsupported));
  }
  if (!r.error.empty()) {
    std::string text = "failed: ";
    return text_row(r, text.append(r.error));
  }
  std::string row = "| ";
  row.append(cell(r.workload)).append(" | ").append(cell(r.system));
  auto add = [&](const std::string& v) { row.append(" | ").append(v); };
  if (r.idle_connections != 0 && r.sent == 0) {
    // Connection rows: what an idle connection costs the server, in place of rates.
    std::string text = std::to_string(r.idle_connections);
    text.append(" idle connections: ").append(number(r.bytes_per_connection, 0));
    add(text.append(" bytes/connection"));
    for (int i = 3; i < 13; ++i)
      add("");
  } else {
    add(number(r.acked_per_s, 0));
    add(number(r.delivered_per_s, 0));
    add(number(r.mb_per_s, 1));
    const auto& a = r.ack_latency_ns;
    const auto& e = r.e2e_latency_ns;
    for (double q : {0.5, 0.99, 0.999})
      add(us(a.quantile(q)));
    for (double q : {0.5, 0.99, 0.999, 0.9999})
      add(us(e.quantile(q)));
    add(us(e.max()));
  }
  add(std::to_string(r.lost));
  add(std::to_string(r.duplicated));
  add(number(r.server_cpu_s, 2));
  add(number(static_cast<double>(r.server_peak_rss_bytes) / 1048576.0, 1));
  return row.append(" |");
}

}  // namespace ferry::bench
