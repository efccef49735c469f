// publish_window: what the push, WebSocket and schedule benches share to load a topic:
// `count` messages through libferry's blocking client, at most `window` awaiting their
// confirm, paced at `rate` a second from the call (0: as fast as confirms come back);
// message i is make(i). Returns how many publishes failed.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <mutex>
#include <string>
#include <thread>

#include "ferry/client/blocking_client.h"

namespace ferry::bench {

template <typename Make>
size_t publish_window(client::blocking_client& c, const std::string& topic, size_t count,
                      size_t window, size_t rate, Make make) {
  std::mutex m;
  std::condition_variable cv;
  size_t pending = 0, failed = 0;
  const auto start = std::chrono::steady_clock::now();
  for (size_t i = 0; i < count; ++i) {
    if (rate != 0)
      std::this_thread::sleep_until(start + std::chrono::nanoseconds(i * 1'000'000'000ULL / rate));
    {
      std::unique_lock lock(m);
      cv.wait(lock, [&] { return pending < window; });
      ++pending;
    }
    c.publish_async(topic, make(i), [&](const ferry::error& e, const client::publish_result&) {
      std::lock_guard lock(m);
      --pending;
      if (e) ++failed;
      cv.notify_all();
    });
  }
  std::unique_lock lock(m);
  cv.wait(lock, [&] { return pending == 0; });
  return failed;
}

}  // namespace ferry::bench
