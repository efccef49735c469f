#include "bench/measurement.h"

#include <cstring>

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

namespace fb = ferry::bench;

namespace {

fb::workload small(uint32_t topics = 1) {
  fb::workload w;
  w.name = "t";
  w.topics = topics;
  w.warmup_s = 0;
  w.duration_s = 3600;
  return w;
}

size_t cells(const std::string& row) {
  size_t n = 0;
  for (size_t i = 0; i < row.size(); ++i)
    if (row[i] == '|' && (i == 0 || row[i - 1] != '\\')) ++n;
  return n - 1;
}

}  // namespace

TEST_CASE("measurement counts lost and duplicated messages per reader", "[bench][measurement]") {
  fb::measurement m(small(), 2);
  m.start(fb::steady::now());
  std::vector<std::string> sent;
  for (int i = 0; i < 5; ++i) {
    uint64_t seq = m.next_sequence();
    sent.push_back(m.make_payload(seq, fb::steady::now()));
  }
  for (const auto& p : sent)
    m.on_message(0, p);
  for (int i : {0, 1, 1, 3})
    m.on_message(1, sent[i]);
  m.on_message(1, "short");  // not one of ours
  CHECK(m.received(0) == 5);
  CHECK(m.slowest_received() == 5);  // reader 1 counted 5 deliveries too
  CHECK(!m.drained());               // reader 1 has 5 deliveries but not 5 messages
  m.on_message(1, sent[2]);
  m.on_message(1, sent[4]);
  CHECK(m.drained());
  auto r = m.finish("sys", 1.5, 1 << 20);
  CHECK(r.sent == 5);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 2);  // a second 1, and "short"
  CHECK(r.e2e_latency_ns.count() == 11);
  fb::measurement lossy(small(), 1);
  lossy.start(fb::steady::now());
  for (int i = 0; i < 5; ++i)
    lossy.next_sequence();
  lossy.on_message(0, sent[3]);
  CHECK(lossy.finish("sys", 0, 0).lost == 4);
}

TEST_CASE("with several topics a reader expects only its own topic", "[bench][measurement]") {
  fb::measurement m(small(2), 2);  // reader 0: topic 0 (even), reader 1: topic 1 (odd)
  m.start(fb::steady::now());
  std::vector<std::string> p;
  for (int i = 0; i < 6; ++i)
    p.push_back(m.make_payload(m.next_sequence(), fb::steady::now()));
  for (int i : {0, 2, 4})
    m.on_message(0, p[i]);
  for (int i : {1, 3})
    m.on_message(1, p[i]);
  CHECK(!m.drained());
  m.on_message(1, p[5]);
  CHECK(m.drained());
  m.on_message(0, p[1]);  // the wrong topic
  auto r = m.finish("sys", 0, 0);
  CHECK(r.lost == 0);
  CHECK(r.duplicated == 1);
}

TEST_CASE("payloads carry sequence and intended time, then the filler", "[bench][measurement]") {
  auto w = small();
  w.message_size = 100;
  w.random_payload_ratio = 0.5;
  w.producer_rate = 3;
  fb::measurement m(w, 1);
  auto t0 = fb::steady::now();
  m.start(t0);
  CHECK(m.due(1) - t0 == std::chrono::nanoseconds(333'333'333));
  CHECK(m.due(3) - t0 == std::chrono::seconds(1));
  auto p = m.make_payload(7, m.due(3));
  REQUIRE(p.size() == 100);
  uint64_t seq = 0;
  int64_t at = 0;
  std::memcpy(&seq, p.data(), 8);
  std::memcpy(&at, p.data() + 8, 8);
  CHECK(seq == 7);
  CHECK(at == 1'000'000'000);
  CHECK(p.substr(16, 34) == std::string(34, 'x'));
  CHECK(p.substr(50) != std::string(50, 'x'));
  // The random part differs from message to message (a log cannot compress it away).
  auto q = m.make_payload(8, m.due(3));
  CHECK(q.substr(16, 34) == std::string(34, 'x'));
  CHECK(q.substr(50) != p.substr(50));
  // A given message's bytes are the same every time (one seed: runs compare).
  CHECK(m.make_payload(8, t0).substr(16) == q.substr(16));
}

TEST_CASE("results as JSON and Markdown", "[bench][measurement]") {
  fb::measurement m(small(), 1);
  m.start(fb::steady::now());
  auto seq = m.next_sequence();
  m.confirmed(1, fb::steady::now());
  m.on_message(0, m.make_payload(seq, fb::steady::now()));
  auto r = m.finish("ferry", 0.25, 3 << 20);
  r.equivalence = "a \"quoted\" | piped\nthing";
  auto j = fb::to_json(r);
  CHECK(j.find('\n') == std::string::npos);
  auto v = boost::json::parse(j).as_object();
  CHECK(v.at("workload").as_string() == "t");
  CHECK(v.at("equivalence").as_string() == "a \"quoted\" | piped\nthing");
  CHECK(v.at("sent").as_int64() == 1);
  CHECK(v.at("e2e_latency_ns").as_object().at("histogram").as_array().size() == 1);
  CHECK(v.at("ack_latency_ns").as_object().at("count").as_int64() == 1);

  auto header = fb::markdown_header();
  size_t columns = cells(header.substr(0, header.find('\n')));
  CHECK(columns == 17);
  CHECK(cells(fb::to_markdown(r)) == columns);
  auto u = r;
  u.unsupported = "no acks | here";
  CHECK_THAT(fb::to_markdown(u), Catch::Contains("unsupported: no acks \\| here"));
  CHECK(cells(fb::to_markdown(u)) == columns);

  fb::measurement idle(small(), 0);
  idle.idle_connections(100, 1000, 1000 + 100 * 4096);
  auto c = idle.finish("ferry", 0, 0);
  CHECK(c.bytes_per_connection == 4096);
  CHECK_THAT(fb::to_markdown(c), Catch::Contains("100 idle connections: 4096 bytes/connection"));
  CHECK(cells(fb::to_markdown(c)) == columns);
}

TEST_CASE("fixed-rate publishers: how late each send was goes into the send lag",
          "[bench][measurement]") {
  auto w = small();
  w.producer_rate = 1000;
  fb::measurement m(w, 1);
  auto t0 = fb::steady::now() - std::chrono::milliseconds(50);
  m.start(t0);
  std::string p;
  m.stamp(p, 0, m.due(0));  // due 50 ms ago: sent at least 50 ms late
  auto r = m.finish("ferry", 0, 0);
  REQUIRE(r.send_lag_ns.count() == 1);
  CHECK(r.send_lag_ns.max() >= 48'000'000);  // the histogram's relative error is < 3.2%
  auto v = boost::json::parse(fb::to_json(r)).as_object();
  CHECK(v.at("send_lag_ns").as_object().at("count").as_int64() == 1);

  fb::measurement max_rate(small(), 1);  // max-rate publishers stamp the time they send
  max_rate.start(t0);
  max_rate.stamp(p, 0, t0);
  CHECK(max_rate.finish("ferry", 0, 0).send_lag_ns.count() == 0);
}
