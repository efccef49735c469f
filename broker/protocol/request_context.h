// request_context: what a request handler gets besides its request and its responder:
// the client's session, the service layer, and what the broker says about itself.
#pragma once

#include <cstdint>
#include <string>

#include "broker/security/authorizer.h"
#include "broker/security/quotas.h"
#include "broker/security/security_service.h"
#include "broker/services/broker_services.h"
#include "broker/session/responder.h"
#include "broker/session/session.h"

namespace ferry::broker {

// What HelloOk tells clients.
struct broker_info {
  std::string server_software = "ferryd/0.1.0";
  uint32_t max_frame_bytes = 16 << 20;
  uint32_t max_message_bytes = 1 << 20;
};

struct request_context {
  session& client;
  broker_services& services;
  security_service& security;
  quotas& limits;
  const broker_info& info;
  authenticator& auth;
};

}  // namespace ferry::broker
