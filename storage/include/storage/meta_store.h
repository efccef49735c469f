// meta_store: durable key/value records of the broker's definitions (topics,
// subscriptions; later consumer-group offsets and the topic-id map).
//
// Keys are short strings with a kind prefix ("topic/orders.eu"); values are encoded
// protobuf messages. Every write is synced before it returns: a definition the broker
// acknowledged survives kill -9. Calls block (RocksDB fsyncs), so the broker makes them on
// its storage thread, never on the network loop.
#pragma once

#include <functional>
#include <optional>
#include <span>
#include <string>
#include <string_view>

#include "proto/codec/errc.h"

namespace ferry::storage {

// One change of a batch: a put, or an erase when value is empty.
struct meta_change {
  std::string key;
  std::optional<std::string> value;
};

class meta_store {
 public:
  virtual ~meta_store() = default;

  // Applies every change atomically (all or none), synced.
  virtual ferry::error apply(std::span<const meta_change> changes) = 0;

  virtual ferry::error put(std::string_view key, std::string_view value) = 0;
  virtual ferry::error erase(std::string_view key) = 0;
  // Calls fn for every record whose key starts with `prefix`, in key order.
  virtual ferry::error scan(
      std::string_view prefix,
      const std::function<void(std::string_view key, std::string_view value)>& fn) = 0;
};

}  // namespace ferry::storage
