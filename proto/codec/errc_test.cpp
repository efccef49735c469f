#include "proto/codec/errc.h"

#include <catch2/catch.hpp>

#include "ferry/v1/errors.pb.h"

TEST_CASE("errc mirrors ferry.v1.ErrorCode number for number and name for name", "[proto][errc]") {
  const auto* desc = ferry::v1::ErrorCode_descriptor();
  REQUIRE(desc->value_count() > 30);
  for (int i = 0; i < desc->value_count(); ++i) {
    const auto* v = desc->value(i);
    auto e = static_cast<ferry::errc>(v->number());
    INFO(v->name());
    CHECK(std::string(ferry::errc_name(e)) == v->name());
    CHECK(ferry::errc_from_wire(v->number()) == e);
  }
}

TEST_CASE("unknown wire error numbers map to INTERNAL", "[proto][errc]") {
  CHECK(ferry::errc_from_wire(9999) == ferry::errc::internal);
  CHECK(ferry::errc_from_wire(8) == ferry::errc::internal);
}

TEST_CASE("ferry errors are std::error_codes with readable text", "[proto][errc]") {
  std::error_code ec = ferry::errc::topic_not_found;
  CHECK(ec.category().name() == std::string("ferry"));
  CHECK(ec.message() == "topic not found");
  ferry::error e{ec, "topic 'a.b' does not exist"};
  CHECK(e.to_string() == "TOPIC_NOT_FOUND: topic 'a.b' does not exist");
}

TEST_CASE("errc_of reads ferry codes and calls every other category INTERNAL", "[proto][errc]") {
  CHECK(ferry::errc_of(ferry::errc::disk_full) == ferry::errc::disk_full);
  CHECK(ferry::errc_of(std::error_code{}) == ferry::errc::ok);
  CHECK(ferry::errc_of(std::make_error_code(std::errc::no_space_on_device)) ==
        ferry::errc::internal);
}
