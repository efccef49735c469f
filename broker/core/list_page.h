// list_page: which part of a list in name order a caller wants (the entries named after
// `after`, at most `limit` of them), so a broker with 100k topics can be walked a page
// per loop turn rather than all at once.
#pragma once

#include <cstddef>
#include <limits>
#include <string_view>

namespace ferry::broker {

struct list_page {
  std::string_view after;  // empty: from the first
  size_t limit = std::numeric_limits<size_t>::max();
};

}  // namespace ferry::broker
