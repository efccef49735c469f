#include "proto/codec/text.h"

#include <catch2/catch.hpp>
#include <rapidcheck.h>

#include "proto/codec/wire.h"

using namespace ferry;

TEST_CASE("escape keeps UTF-8 text and escapes everything else", "[proto][text]") {
  CHECK(text::escape("orders.eu") == "orders.eu");
  CHECK(text::escape("gr\xc3\xbc\xc3\x9f") == "gr\xc3\xbc\xc3\x9f");  // grüß
  CHECK(text::escape("a\xc3") == "a\\xC3");                           // truncated sequence
  CHECK(text::escape("\xed\xa0\x80") == "\\xED\\xA0\\x80");           // a surrogate
  CHECK(text::escape("tab\there\n") == "tab\\x09here\\x0A");
  CHECK(text::escape("back\\slash") == "back\\\\slash");
  CHECK(text::quoted("a\xff") == "'a\\xFF'");
}

TEST_CASE("sendable passes valid UTF-8 through unchanged", "[proto][text]") {
  CHECK(text::sendable("topic 'x' is gone\n") == "topic 'x' is gone\n");
  CHECK(text::sendable("bad \xc3(") == "bad \\xC3(");
}

TEST_CASE("whatever bytes go in, escape gives valid UTF-8", "[proto][text]") {
  rc::check([](const std::string& s) { RC_ASSERT(wire::valid_utf8(text::escape(s))); });
}
