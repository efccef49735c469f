// tls_settings: TLS on both listeners (config keys tls.*).
#pragma once

#include <string>

namespace ferry::broker {

struct tls_settings {
  // Both listeners (the wire protocol's and HTTP) speak TLS 1.2 or 1.3 only.
  bool enabled = false;
  std::string cert_file;  // PEM: the broker's certificate, then its chain
  std::string key_file;   // PEM: its private key
  // PEM: the CAs that sign client certificates (mutual TLS).
  std::string ca_file;
  // Client certificates, as Kafka's ssl.client.auth: "none", "requested" (verified when a
  // client presents one) or "required" (a client without one is refused).
  std::string client_auth = "none";
};

}  // namespace ferry::broker
