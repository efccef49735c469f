// test_certs: the TLS tests' certificates (a CA, servers for localhost and for another
// name, an expired one, client certificates), made once per test process by
// tests/tls/make_certs.sh with the openssl CLI into a temp directory.
#pragma once

#include <string>

namespace ferry::testing {

// The path of `name` ("ca.pem", "server.key", ...); throws when the script fails.
std::string test_cert(const std::string& name);

}  // namespace ferry::testing
