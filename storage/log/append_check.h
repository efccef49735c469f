// Checks both log_store implementations make before writing, so they reject the same
// appends. Internal to storage/.
#pragma once

#include <cstdint>
#include <limits>
#include <string>

#include "storage/log_store.h"

namespace ferry::storage {

// INVALID_ARGUMENT when `a` is malformed: `ends` decreasing or past `data` (value(i)
// would read out of bounds), or offsets reaching UINT64_MAX, which is reserved as the
// exclusive upper bound of a partition's keys.
inline ferry::error check_append(const partition_append& a) {
  uint32_t prev = 0;
  for (uint32_t end : a.ends) {
    if (end < prev) return {make_error_code(errc::invalid_argument), "append: ends decrease"};
    prev = end;
  }
  if (prev > a.data.size())
    return {make_error_code(errc::invalid_argument), "append: ends past the data"};
  if (a.first_offset >= std::numeric_limits<uint64_t>::max() - a.count())
    return {make_error_code(errc::invalid_argument), "append: offsets overflow"};
  return {};
}

}  // namespace ferry::storage
