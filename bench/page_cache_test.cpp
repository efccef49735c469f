#include "bench/page_cache.h"

#include <filesystem>
#include <fstream>
#include <string>

#include <catch2/catch.hpp>
#include <unistd.h>

namespace fb = ferry::bench;

TEST_CASE("drop_page_cache writes back and drops every file under a directory",
          "[bench][page_cache]") {
  namespace fs = std::filesystem;
  auto dir = fs::temp_directory_path() / ("page-cache-test-" + std::to_string(::getpid()));
  fs::create_directories(dir / "sub");
  const std::string block(1 << 20, 'x');
  for (const char* name : {"a", "sub/b"}) {
    std::ofstream f(dir / name, std::ios::binary);
    for (int i = 0; i < 4; ++i)
      f << block;
  }
  // Read back, so the pages are cached (written pages may also still be dirty).
  for (const char* name : {"a", "sub/b"}) {
    std::ifstream f(dir / name, std::ios::binary);
    std::string all((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    REQUIRE(all.size() == 4u << 20);
  }
  REQUIRE(fb::resident_bytes((dir / "a").string()) > 0);

  auto d = fb::drop_page_cache(dir.string());
  CHECK(d.error.empty());
  CHECK(d.files == 2);
  CHECK(d.file_bytes == 8u << 20);
  CHECK(d.resident_bytes < d.file_bytes / 8);
  CHECK(fb::resident_bytes((dir / "sub" / "b").string()) < (4u << 20) / 8);
  fs::remove_all(dir);
}

TEST_CASE("drop_page_cache names a directory it cannot walk", "[bench][page_cache]") {
  auto d = fb::drop_page_cache("/nonexistent/ferry-page-cache-test");
  CHECK(!d.error.empty());
  CHECK(d.files == 0);
}
