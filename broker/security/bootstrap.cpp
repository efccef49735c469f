#include "broker/security/bootstrap.h"

#include <cstdlib>
#include <fstream>

#include "broker/core/errors.h"
#include "broker/core/log.h"

namespace ferry::broker {

ferry::error bootstrap_admin(const security_settings& s, security_service& security) {
  const std::string& user = s.bootstrap_user;
  if (user.empty() || security.has_user(user)) {
    if (!security.has_users())
      log::security().warn(
          "authentication is on and there are no users: nobody can log in; "
          "set auth.bootstrap_user (docs/SECURITY.md)");
    return {};
  }
  std::string password;
  if (const char* env = std::getenv("FERRY_AUTH_BOOTSTRAP_PASSWORD")) password = env;
  ::unsetenv("FERRY_AUTH_BOOTSTRAP_PASSWORD");  // nothing ferryd starts inherits it
  if (password.empty() && !s.bootstrap_password_file.empty()) {
    std::ifstream in(s.bootstrap_password_file);
    if (!in)
      return fail(errc::invalid_argument,
                  "auth.bootstrap_password_file: cannot read " + s.bootstrap_password_file);
    std::getline(in, password);
  }
  if (password.empty())
    return fail(errc::invalid_argument,
                "auth.bootstrap_user " + user +
                    " does not exist and has no password: set $FERRY_AUTH_BOOTSTRAP_PASSWORD or "
                    "auth.bootstrap_password_file");
  security.bootstrap(user, password, [user](const ferry::error& err) {
    if (err) log::security().error("bootstrap admin {}: {}", user, err.message);
  });
  return {};
}

}  // namespace ferry::broker
