#include "broker/http/http_message.h"

#include <boost/algorithm/string/predicate.hpp>

namespace ferry::broker {

std::string_view http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (boost::algorithm::iequals(k, name)) return v;
  return {};
}

const std::string* http_request::query_param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace ferry::broker
