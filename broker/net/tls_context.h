// tls_context: the broker's TLS configuration made into an OpenSSL context from the files
// tls_settings names: TLS 1.2 and 1.3 only, forward-secret AEAD ciphers, client
// certificates as tls.client_auth says. The server makes a new one on SIGHUP (the files
// read again); a connection keeps the context it was accepted with, so a reload changes
// only new connections and drops none.
#pragma once

#include <functional>
#include <memory>

#include "broker/net/tls_settings.h"
#include "proto/codec/errc.h"

namespace boost::asio::ssl {
class context;
}

namespace ferry::broker {

// The context a new connection gets; null: plain TCP.
using tls_source = std::function<std::shared_ptr<boost::asio::ssl::context>()>;

// The context of `s`, or an error naming the file and OpenSSL's reason.
ferry::error make_tls_context(const tls_settings& s,
                              std::shared_ptr<boost::asio::ssl::context>& out);

}  // namespace ferry::broker
