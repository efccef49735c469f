// openapi: the OpenAPI 3.1 document of the HTTP side, made from the route table and the
// ferry.v1 messages' descriptors, so it lists exactly the routes the router has and the
// JSON shapes proto_json reads and writes. Served at /v1/openapi.json.
#pragma once

#include <string>

#include "broker/http/router.h"

namespace ferry::broker {

std::string openapi_document(const router& routes, const std::string& version);

// GET /v1/openapi.json (add it last: the document describes the table as it is then).
void add_openapi_route(router& r, std::string version);

}  // namespace ferry::broker
