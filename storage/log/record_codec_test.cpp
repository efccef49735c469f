// The stored layouts: a record value and the log key. Golden bytes pin the layout;
// properties hold encode and decode to each other and key order to offset order.
#include "storage/record_codec.h"

#include <cstring>
#include <tuple>

#include <catch2/catch.hpp>
#include <rapidcheck/catch.h>

using namespace ferry::storage;

TEST_CASE("record layout is version, LE timestamp, message bytes", "[storage][codec]") {
  std::vector<uint8_t> out{0xAA};  // encode appends
  encode_record(out, 0x0102030405060708, "hi");
  std::vector<uint8_t> want{0xAA, 1, 8, 7, 6, 5, 4, 3, 2, 1, 'h', 'i'};
  CHECK(out == want);
  auto v = decode_record({reinterpret_cast<const char*>(out.data()) + 1, out.size() - 1});
  REQUIRE(v);
  CHECK(v->timestamp_ms == 0x0102030405060708);
  CHECK(v->message == "hi");
}

TEST_CASE("decode_record refuses short values and unknown versions", "[storage][codec]") {
  CHECK_FALSE(decode_record(""));
  CHECK_FALSE(decode_record(std::string_view("\x01\0\0\0\0\0\0\0", 8)));
  CHECK(decode_record(std::string_view("\x01\0\0\0\0\0\0\0\0", 9)));  // empty message
  CHECK_FALSE(decode_record(std::string_view("\x02\0\0\0\0\0\0\0\0", 9)));
}

TEST_CASE("log key layout is topic, partition, offset, big-endian", "[storage][codec]") {
  uint8_t key[log_key_bytes];
  encode_log_key(key, 0x01020304, 0x05060708, 0x090a0b0c0d0e0f10);
  for (int i = 0; i < 16; ++i)
    CHECK(key[i] == i + 1);
  CHECK_FALSE(decode_log_key(std::string_view(reinterpret_cast<char*>(key), 15)));
}

TEST_CASE("record and key codecs round trip", "[storage][codec]") {
  rc::prop("record round trip", [](int64_t ts, const std::string& message) {
    std::vector<uint8_t> out;
    encode_record(out, ts, message);
    RC_ASSERT(out.size() == record_header_bytes + message.size());
    auto v = decode_record({reinterpret_cast<const char*>(out.data()), out.size()});
    RC_ASSERT(v.has_value());
    RC_ASSERT(v->timestamp_ms == ts);
    RC_ASSERT(v->message == message);
  });
  rc::prop("key round trip", [](uint32_t topic, uint32_t partition, uint64_t offset) {
    uint8_t key[log_key_bytes];
    encode_log_key(key, topic, partition, offset);
    auto k = decode_log_key({reinterpret_cast<const char*>(key), sizeof key});
    RC_ASSERT(k.has_value());
    RC_ASSERT(k->topic == topic);
    RC_ASSERT(k->partition == partition);
    RC_ASSERT(k->offset == offset);
  });
}

TEST_CASE("log key byte order equals (topic, partition, offset) order", "[storage][codec]") {
  // Small ranges as well as full ones, so that equal topics and partitions come up often.
  auto u32 = rc::gen::oneOf(rc::gen::inRange<uint32_t>(0, 3), rc::gen::arbitrary<uint32_t>());
  auto u64 = rc::gen::oneOf(rc::gen::inRange<uint64_t>(0, 300), rc::gen::arbitrary<uint64_t>());
  rc::prop("memcmp order == tuple order", [&] {
    auto a = std::make_tuple(*u32, *u32, *u64);
    auto b = std::make_tuple(*u32, *u32, *u64);
    uint8_t ka[log_key_bytes], kb[log_key_bytes];
    encode_log_key(ka, std::get<0>(a), std::get<1>(a), std::get<2>(a));
    encode_log_key(kb, std::get<0>(b), std::get<1>(b), std::get<2>(b));
    int c = std::memcmp(ka, kb, log_key_bytes);
    RC_ASSERT((c < 0) == (a < b));
    RC_ASSERT((c == 0) == (a == b));
  });
}
