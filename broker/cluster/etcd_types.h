// etcd_types: the values of etcd's v3 API that the broker uses (keys, events,
// transactions), shared by etcd_client and its JSON encoding (etcd_json).
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace ferry::broker {

struct etcd_kv {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;
};

struct etcd_event {
  bool erased = false;  // a DELETE (the kv has its key and mod_revision only); else a PUT
  etcd_kv kv;
};

// If every comparison holds, the operations of `then`, else those of `otherwise`, all at
// one revision.
struct etcd_txn {
  // The key's create or mod revision equals `revision` (the only comparisons the broker
  // makes: "absent" is create revision 0, "unchanged since" the mod revision read).
  struct compare {
    enum class target { create_revision, mod_revision };
    std::string key;
    target what = target::create_revision;
    int64_t revision = 0;

    // The key's create_revision is `revision` (0: the key is absent).
    static compare created_at(std::string key, int64_t revision = 0) {
      return {std::move(key), target::create_revision, revision};
    }
    // The key's mod_revision is `revision` (it has not changed since).
    static compare modified_at(std::string key, int64_t revision) {
      return {std::move(key), target::mod_revision, revision};
    }
  };
  struct op {
    enum class kind { put, get, erase };
    kind type = kind::get;
    std::string key;
    std::string value;    // put
    int64_t lease = 0;    // put: 0 = none
    bool prefix = false;  // get, erase: every key starting with `key`

    static op put(std::string key, std::string value, int64_t lease = 0) {
      return {kind::put, std::move(key), std::move(value), lease, false};
    }
    static op get(std::string key, bool prefix = false) {
      return {kind::get, std::move(key), {}, 0, prefix};
    }
    static op erase(std::string key, bool prefix = false) {
      return {kind::erase, std::move(key), {}, 0, prefix};
    }
  };
  std::vector<compare> when;
  std::vector<op> then;
  std::vector<op> otherwise;
};

struct etcd_txn_result {
  bool succeeded = false;
  int64_t revision = 0;
  std::vector<etcd_kv> got;  // what the taken branch's get operations found, in order
};

}  // namespace ferry::broker
