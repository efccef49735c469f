#include "broker/core/log.h"

#include <boost/json/parse.hpp>
#include <catch2/catch.hpp>

TEST_CASE("JSON log lines stay valid JSON whatever the message holds", "[core][log]") {
  auto f = ferry::broker::log::make_formatter(true);
  std::string text = "a \"quoted\" \\ path\nand a tab\t and \x01 control";
  spdlog::details::log_msg msg(spdlog::source_loc{}, "topics", spdlog::level::warn, text);
  spdlog::memory_buf_t out;
  f->format(msg, out);
  std::string line(out.data(), out.size());
  REQUIRE(line.back() == '\n');
  boost::system::error_code ec;
  auto v = boost::json::parse(line, ec);
  REQUIRE_FALSE(ec);
  CHECK(v.at("msg").as_string() == text);
  CHECK(v.at("level").as_string() == "warning");
  CHECK(v.at("logger").as_string() == "topics");
}
