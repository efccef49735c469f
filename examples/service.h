// What both example services share: the broker address, a stop flag set by SIGTERM or
// SIGINT (a container runtime stops a service with SIGTERM), and connecting with the
// declarations both make.
#pragma once

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>
#include <thread>

#include "ferry/client/blocking_client.h"

namespace ferry::examples {

inline std::atomic<bool> stop_requested{false};

inline void stop_on_signals() {
  auto on_signal = [](int) { stop_requested = true; };
  std::signal(SIGTERM, on_signal);
  std::signal(SIGINT, on_signal);
}

// HOST:PORT into `opts`; false when malformed.
inline bool set_broker(client::client_options& opts, const std::string& address) {
  const auto colon = address.rfind(':');
  if (colon == std::string::npos || colon == 0) return false;
  const int port = std::atoi(address.c_str() + colon + 1);
  if (port <= 0 || port > 65535) return false;
  opts.host = address.substr(0, colon);
  opts.port = static_cast<uint16_t>(port);
  return true;
}

// Connects (retrying for 10 s: in compose or a pod the broker may still be starting) and
// declares `topic` and the subscription `subscription` on it, both if they do not exist:
// whichever service starts first, no event goes to a topic without its subscription.
// Null (the reason printed, prefixed by `who`) on failure.
inline std::unique_ptr<client::blocking_client> connect_and_declare(
    const client::client_options& opts, const std::string& topic, const std::string& subscription,
    const char* who) {
  auto connected = client::blocking_client::connect(opts);
  for (int attempt = 0; !connected && attempt < 50 && !stop_requested; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
    connected = client::blocking_client::connect(opts);
  }
  if (!connected) {
    std::fprintf(stderr, "%s: %s\n", who, connected.err().to_string().c_str());
    return nullptr;
  }
  auto c = std::move(connected.value());
  v1::CreateTopic t;
  t.set_name(topic);
  t.set_if_not_exists(true);
  v1::CreateSubscription s;
  s.set_name(subscription);
  s.set_pattern(topic);
  s.set_if_not_exists(true);
  ferry::error failed;
  if (auto r = c->create_topic(t); !r) failed = r.err();
  if (auto r = c->create_subscription(s); !r && !failed) failed = r.err();
  if (failed) {
    std::fprintf(stderr, "%s: declaring %s and %s: %s\n", who, topic.c_str(), subscription.c_str(),
                 failed.to_string().c_str());
    return nullptr;
  }
  return c;
}

}  // namespace ferry::examples
