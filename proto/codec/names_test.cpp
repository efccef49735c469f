#include "proto/codec/names.h"

#include <catch2/catch.hpp>

#include "proto/codec/wire.h"

using namespace ferry::names;

TEST_CASE("topic names are dot-separated segments of [A-Za-z0-9_-]", "[proto][names]") {
  CHECK(check_name("orders").empty());
  CHECK(check_name("orders.eu.created").empty());
  CHECK(check_name("a_b-C.9").empty());
  CHECK_FALSE(check_name("").empty());
  CHECK_FALSE(check_name("orders..eu").empty());
  CHECK_FALSE(check_name(".orders").empty());
  CHECK_FALSE(check_name("orders.").empty());
  CHECK_FALSE(check_name("orders eu").empty());
  CHECK_FALSE(check_name("orders.*").empty());
  CHECK_FALSE(check_name("orders.>").empty());
  CHECK_FALSE(check_name("ö").empty());
  CHECK_FALSE(check_name(std::string(256, 'a')).empty());
  CHECK(check_name(std::string(255, 'a')).empty());
}

TEST_CASE("patterns allow * anywhere and > only last", "[proto][names]") {
  CHECK(check_pattern("orders.*").empty());
  CHECK(check_pattern("*.eu.*").empty());
  CHECK(check_pattern("orders.>").empty());
  CHECK(check_pattern(">").empty());
  CHECK_FALSE(check_pattern("orders.>.eu").empty());
  CHECK_FALSE(check_pattern("orders.e*").empty());
  CHECK_FALSE(check_pattern("orders..*").empty());
  CHECK(is_wildcard("a.*"));
  CHECK(is_wildcard("a.>"));
  CHECK_FALSE(is_wildcard("a.b"));
}

TEST_CASE("partition_for_key is FNV-1a mod the partition count", "[proto][names]") {
  // FNV-1a 32 of "" is the offset basis, of "a" is 0xe40c292c (published test vectors).
  CHECK(partition_for_key("", 1000) == 2166136261u % 1000);
  CHECK(partition_for_key("a", 0xFFFFFFFF) == 0xe40c292cu % 0xFFFFFFFFu);
  CHECK(partition_for_key("order-42", 1) == 0);
  CHECK(partition_for_key("order-42", 7) == partition_for_key("order-42", 7));
}

TEST_CASE("pattern matching follows segments", "[proto][names]") {
  CHECK(matches("orders.eu", "orders.eu"));
  CHECK_FALSE(matches("orders.eu", "orders.eu.x"));
  CHECK_FALSE(matches("orders.eu", "orders"));
  CHECK(matches("orders.*", "orders.eu"));
  CHECK_FALSE(matches("orders.*", "orders"));
  CHECK_FALSE(matches("orders.*", "orders.eu.created"));
  CHECK(matches("orders.>", "orders.eu"));
  CHECK(matches("orders.>", "orders.eu.created"));
  CHECK_FALSE(matches("orders.>", "orders"));
  CHECK_FALSE(matches("orders.>", "ordersx.eu"));
  CHECK(matches("*.eu.*", "orders.eu.created"));
  CHECK_FALSE(matches("*.eu.*", "orders.us.created"));
  CHECK(matches(">", "anything.at.all"));
  CHECK(matches("*", "one"));
  CHECK_FALSE(matches("*", "one.two"));
}

TEST_CASE("a refused character is quoted whole, and the reason is valid UTF-8", "[proto][names]") {
  CHECK(check_name("caf\xc3\xa9") ==
        "character '\xc3\xa9' is not allowed (use A-Z a-z 0-9 _ - and dots)");
  // Not UTF-8 at all: the byte is escaped, never copied.
  std::string why = check_name("a\xc3");
  CHECK(why == "character '\\xC3' is not allowed (use A-Z a-z 0-9 _ - and dots)");
  CHECK(ferry::wire::valid_utf8(why));
  CHECK(ferry::wire::valid_utf8(check_pattern("x.\xff.>")));
}
