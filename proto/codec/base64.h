// base64: the standard alphabet with padding (RFC 4648 section 4), as JSON carries bytes
// (the REST API's bytes fields, CloudEvents' data_base64).
#pragma once

#include <string>
#include <string_view>

namespace ferry::codec {

std::string base64(std::string_view raw);
// Appends base64(raw) to `out`, encoded in place.
void append_base64(std::string& out, std::string_view raw);
// Standard base64 with padding, as base64() writes it; false for anything else.
bool unbase64(std::string_view text, std::string& raw);

}  // namespace ferry::codec
