// Asio's implementation, compiled once for every ferry target
// (BOOST_ASIO_SEPARATE_COMPILATION is set project-wide in CMakeLists.txt).
#include <boost/asio/impl/src.hpp>
// Asio's TLS stream, for the broker's and libferry's tls_transport.
#include <boost/asio/ssl/impl/src.hpp>
