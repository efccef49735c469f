// principal: who sends a session's requests, as the handshake's authenticator found out
// (protocol/authorizer.h); every request is authorized as it.
#pragma once

#include <string>

namespace ferry::broker {

struct principal {
  std::string name = "anonymous";
};

}  // namespace ferry::broker
