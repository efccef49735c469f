// push_config: the push.* options (the option table documents each).
#pragma once

#include <string>

namespace ferry::broker {

struct push_config {
  // PEM file of the CAs that https push endpoints' certificates must chain to; empty =
  // the system's trust store.
  std::string ca_file;
};

}  // namespace ferry::broker
