// fuzz_check: the harnesses' own oracle. A property that does not hold is a crash for
// libFuzzer (abort), with the reason on stderr.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <string_view>

#define FUZZ_CHECK(cond)                                                                  \
  do {                                                                                    \
    if (!(cond)) {                                                                        \
      std::fprintf(stderr, "FUZZ_CHECK failed: %s (%s:%d)\n", #cond, __FILE__, __LINE__); \
      std::abort();                                                                       \
    }                                                                                     \
  } while (0)

// FERRY_FUZZ_STRICT=0 steps around the (fixed) findings, as before their fixes
// (fuzz/README.md); every check is on otherwise.
inline const bool fuzz_strict = [] {
  const char* s = std::getenv("FERRY_FUZZ_STRICT");
  return s == nullptr || std::string_view(s) != "0";
}();
