// bootstrap: the first admin of a broker with authentication on (auth.bootstrap_user),
// so that someone can log in to create the others. Its password comes from
// $FERRY_AUTH_BOOTSTRAP_PASSWORD or auth.bootstrap_password_file, never the YAML or a flag.
#pragma once

#include "broker/security/security_service.h"
#include "broker/security/security_settings.h"

namespace ferry::broker {

// Creates the user with ADMIN on the broker unless it exists; an error when it must be
// created and has no password. At start, on the loop.
ferry::error bootstrap_admin(const security_settings& s, security_service& security);

}  // namespace ferry::broker
