#include "storage/meta_keys.h"

#include <cstring>

#include <catch2/catch.hpp>

using namespace ferry::storage;

TEST_CASE("meta keys name their kind and the definition", "[storage][meta]") {
  CHECK(meta_keys::topic("orders.eu") == "topic/orders.eu");
  CHECK(meta_keys::subscription("billing") == "sub/billing");
  CHECK(meta_keys::group("g") == "group/g");
  CHECK(meta_keys::offset("g", 12) == "offset/g/12");
  CHECK(meta_keys::name_of("topic/orders", meta_keys::topic_prefix) == "orders");
  CHECK(meta_keys::partition_of("offset/g/12", meta_keys::offset_prefix("g")) == 12u);
  CHECK_FALSE(meta_keys::partition_of("offset/g/x", meta_keys::offset_prefix("g")));
  CHECK_FALSE(meta_keys::partition_of("offset/g/", meta_keys::offset_prefix("g")));
}

TEST_CASE("meta values are little-endian whatever the host", "[storage][meta]") {
  CHECK(meta_keys::encode_u32(0x01020304) == std::string("\x04\x03\x02\x01", 4));
  CHECK(meta_keys::decode_u64(meta_keys::encode_u64(0x1122334455667788ULL)) ==
        0x1122334455667788ULL);
  CHECK_FALSE(meta_keys::decode_u32("abc"));
  // What earlier versions wrote with memcpy on x86 reads back the same.
  uint32_t id = 7;
  std::string host(4, '\0');
  std::memcpy(host.data(), &id, 4);
  CHECK(meta_keys::decode_u32(host) == 7u);
}
