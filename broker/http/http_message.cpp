#include "broker/http/http_message.h"

#include <boost/beast/core/string.hpp>

namespace ferry::broker {

std::string_view http_request::header(std::string_view name) const {
  for (const auto& [k, v] : headers)
    if (boost::beast::iequals(k, name)) return v;  // ASCII: no locale per character
  return {};
}

const std::string* http_request::query_param(std::string_view name) const {
  for (const auto& [k, v] : query)
    if (k == name) return &v;
  return nullptr;
}

}  // namespace ferry::broker
