// rocksdb::Status -> ferry::error, at the storage edge. Every status of a RocksDB call
// goes through to_error (grep for it), so none is dropped silently. Internal to storage/.
#pragma once

#include <string>
#include <string_view>

#include <rocksdb/status.h>

#include "proto/codec/errc.h"

namespace ferry::storage {

// DISK_FULL when RocksDB ran out of space (the NoSpace subcode, or an ENOSPC I/O error
// from an Env that did not set it), STORAGE_ERROR otherwise. `what` says which operation
// failed; the message ends with RocksDB's own text.
inline ferry::error to_error(const rocksdb::Status& s, std::string_view what) {
  if (s.ok()) return {};
  std::string text = s.ToString();
  bool no_space = s.IsNoSpace() || text.find("No space left on device") != std::string::npos;
  std::string msg(what);
  msg.append(": ").append(text);
  return {make_error_code(no_space ? errc::disk_full : errc::storage_error), std::move(msg)};
}

}  // namespace ferry::storage
