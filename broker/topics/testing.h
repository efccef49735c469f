// Test helpers for the topics layer: a recording delivery sink and message builders.
#pragma once

#include <string>
#include <vector>

#include "ferry/v1/log.pb.h"

#include "broker/topics/consumer.h"
#include "broker/topics/message.h"
#include "proto/codec/frame_codec.h"

namespace ferry::broker::testing {

// Records deliveries and cancellations per consumer, in order.
class recording_sink final : public delivery_sink {
 public:
  struct record {
    uint64_t consumer_id;
    uint64_t delivery_id;
    uint32_t delivery_count;
    std::string topic;
    std::string payload;
    std::vector<codec::header_view> headers;  // views into `bytes`
    std::string bytes;
    uint32_t partition = 0;
    uint64_t offset = 0;
  };
  void deliver(consumer& c, const message_ref& m, const delivery_meta& meta) override {
    record r{c.id(), meta.delivery_id,     meta.delivery_count, std::string(m.topic), {},
             {},     std::string(m.bytes), meta.partition,      meta.offset};
    codec::message_fields f;
    std::vector<codec::header_view> hs;
    (void)codec::parse_message(r.bytes, f, &hs);
    r.payload = std::string(f.payload);
    records.push_back(std::move(r));
  }
  void consumer_cancelled(consumer& c, errc, std::string_view) override {
    cancelled.push_back(c.id());
  }
  void assignment_changed(consumer&, const v1::Assignment& a) override { assignments.push_back(a); }
  void consumer_closing(consumer& c, bool) override { closed.push_back(c.id()); }
  // Headers of record i (re-parsed, since records move).
  std::vector<std::pair<std::string, std::string>> headers(size_t i) const {
    codec::message_fields f;
    std::vector<codec::header_view> hs;
    (void)codec::parse_message(records.at(i).bytes, f, &hs);
    std::vector<std::pair<std::string, std::string>> out;
    for (auto& h : hs)
      out.emplace_back(h.key, h.value);
    return out;
  }
  std::vector<record> records;
  std::vector<uint64_t> cancelled;
  std::vector<uint64_t> closed;
  std::vector<v1::Assignment> assignments;
};

// An encoded Message with this payload (and TTL).
inline std::string encode_message(std::string_view payload, uint64_t ttl_ms = 0) {
  std::vector<uint8_t> b;
  wire::writer w(b);
  codec::message_fields f;
  f.payload = payload;
  f.ttl_ms = ttl_ms;
  codec::append_message(w, f, {});
  return std::string(wire::as_view(b));
}

// A message_ref on topic `topic` in its own buffer.
inline message_ref make_ref(std::string_view topic, std::string_view payload,
                            memory_accountant* acct = nullptr, int64_t expires_at = 0) {
  std::string all = std::string(topic) + encode_message(payload);
  auto buf = bytes_ref::copy_of(all, acct);
  std::string_view v = buf.get()->view();
  return message_ref{buf, v.substr(0, topic.size()), v.substr(topic.size()), 0, expires_at};
}

}  // namespace ferry::broker::testing
