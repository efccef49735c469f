// FERRY_ASSERT: for our own invariants only, never for anything a peer can cause.
// Logs file, line and condition, then aborts (like Redpanda's vassert).
#pragma once

#include <cstdio>
#include <cstdlib>

#define FERRY_ASSERT(cond, msg)                                                                   \
  do {                                                                                            \
    if (!(cond)) [[unlikely]] {                                                                   \
      std::fprintf(stderr, "%s:%d: assertion failed: %s (%s)\n", __FILE__, __LINE__, #cond, msg); \
      std::abort();                                                                               \
    }                                                                                             \
  } while (0)
