#include "tests/support/test_certs.h"

#include <cstdio>
#include <stdexcept>

#include "tests/support/broker_process.h"

namespace ferry::testing {

std::string test_cert(const std::string& name) {
  static const std::string dir = [] {
    std::string d = make_temp_dir("ferry-certs");
    FILE* p = ::popen((std::string(FERRY_MAKE_CERTS) + " " + d + " 2>&1").c_str(), "r");
    if (p == nullptr) throw std::runtime_error("make_certs.sh did not start");
    std::string out;
    char buf[4096];
    while (size_t n = std::fread(buf, 1, sizeof buf, p))
      out.append(buf, n);
    if (::pclose(p) != 0) throw std::runtime_error("make_certs.sh failed: " + out);
    return d;
  }();
  return dir + "/" + name;
}

}  // namespace ferry::testing
