// server: ferryd as a whole. Owns the broker loop (one io_context on the calling
// thread), the storage thread, RocksDB, the registry and the listener.
//
// Lifecycle: start() opens storage, recovers definitions and binds the listener (errors
// are fatal and say why); run() serves until SIGINT/SIGTERM or stop(); then it drains:
// stops accepting, tells clients SHUTTING_DOWN, flushes what they were sent, closes
// RocksDB. Asio stays out of this header.
#pragma once

#include <memory>
#include <string>

#include "broker/config/options.h"
#include "proto/codec/errc.h"

namespace ferry::broker {

class server {
 public:
  explicit server(broker_options opts);
  ~server();

  ferry::error start();
  std::string listen_address() const;
  // The HTTP listener's bound address; empty when http.listen is.
  std::string http_address() const;
  void run();
  // Thread-safe.
  void stop();

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

}  // namespace ferry::broker
