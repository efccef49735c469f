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
  struct compare {
    enum class target { create_revision, mod_revision, version, value };
    enum class result { equal, not_equal, less, greater };
    std::string key;
    target what = target::create_revision;
    result is = result::equal;
    int64_t number = 0;  // for the revisions and the version
    std::string value;   // for target::value

    // The key's create_revision is `revision` (0: the key is absent).
    static compare created_at(std::string key, int64_t revision = 0) {
      compare c;
      c.key = std::move(key);
      c.number = revision;
      return c;
    }
    // The key's mod_revision is `revision` (it has not changed since).
    static compare modified_at(std::string key, int64_t revision) {
      compare c = created_at(std::move(key), revision);
      c.what = target::mod_revision;
      return c;
    }
  };
  struct op {
    enum class kind { put, erase, get };
    kind type = kind::get;
    std::string key;
    std::string value;    // put
    int64_t lease = 0;    // put: 0 = none
    bool prefix = false;  // erase, get: every key starting with `key`

    static op put(std::string key, std::string value, int64_t lease = 0) {
      op o = get(std::move(key));
      o.type = kind::put;
      o.value = std::move(value);
      o.lease = lease;
      return o;
    }
    static op get(std::string key, bool prefix = false) {
      op o;
      o.key = std::move(key);
      o.prefix = prefix;
      return o;
    }
    static op erase(std::string key, bool prefix = false) {
      op o = get(std::move(key), prefix);
      o.type = kind::erase;
      return o;
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
