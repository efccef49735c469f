// http_upgrade: what an HTTP connection hands over when a route takes it (status 101 with
// http_response::upgrade): the stream and the request that asked for the upgrade. Beast
// types: included by .cpp files only.
#pragma once

#include <memory>

#include <boost/beast/http/message.hpp>
#include <boost/beast/http/string_body.hpp>

#include "broker/net/transport.h"

namespace ferry::broker {

struct http_upgrade {
  std::unique_ptr<transport> stream;
  boost::beast::http::request<boost::beast::http::string_body> request;
};

}  // namespace ferry::broker
