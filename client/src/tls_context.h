// tls_context: libferry's TLS settings (client_options::tls) made an OpenSSL context:
// TLS 1.2 or 1.3, the broker's certificate verified against the CA file (else the
// system's), a client certificate when one is given. The server name is checked by the
// stream that uses it (ssl::host_name_verification).
#pragma once

#include <memory>
#include <string>

#include <boost/system/error_code.hpp>

#include "ferry/client/types.h"
#include "proto/codec/errc.h"

namespace boost::asio::ssl {
class context;
}

namespace ferry::client::detail {

// The context of `o`, or the error naming the file that did not load.
error make_tls_client_context(const tls_options& o,
                              std::unique_ptr<boost::asio::ssl::context>& out);

// DISCONNECTED naming `what` and `ec`.
error tls_error(const std::string& what, const boost::system::error_code& ec);

}  // namespace ferry::client::detail
