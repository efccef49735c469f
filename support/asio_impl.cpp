// Asio's implementation, compiled once for every ferry target
// (BOOST_ASIO_SEPARATE_COMPILATION is set project-wide in CMakeLists.txt).
#include <boost/asio/impl/src.hpp>
