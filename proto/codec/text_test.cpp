#include "proto/codec/text.h"

#include <boost/beast/core/detail/base64.hpp>
#include <catch2/catch.hpp>
#include <rapidcheck.h>

#include "proto/codec/base64.h"
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

TEST_CASE("base64 writes what Beast's encoder writes, and reads back what it wrote", "[codec]") {
  namespace b64 = boost::beast::detail::base64;
  rc::check([](const std::string& raw) {
    std::string beast(b64::encoded_size(raw.size()), '\0');
    beast.resize(b64::encode(beast.data(), raw.data(), raw.size()));
    const std::string ours = codec::base64(raw);
    RC_ASSERT(ours == beast);
    std::string back;
    RC_ASSERT(codec::unbase64(ours, back));
    RC_ASSERT(back == raw);
  });
  CHECK(codec::base64("") == "");
  CHECK(codec::base64("f") == "Zg==");
  CHECK(codec::base64("fo") == "Zm8=");
  CHECK(codec::base64("foo") == "Zm9v");
  CHECK(codec::base64("foobar") == "Zm9vYmFy");
  std::string prefix = "x:";
  codec::append_base64(prefix, std::string_view("\xff\x00\x80", 3));
  CHECK(prefix == "x:/wCA");
}
