// etcd_json: etcd's v3 messages as its JSON gateway spells them (etcd_client's
// encoding and decoding): keys and values base64, int64 fields as strings, fields at their
// default value left out, a streaming call's answer wrapped in {"result": ...}.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>

#include "broker/cluster/etcd_types.h"

namespace ferry::broker::etcd_json {

// An int64 field (a JSON string, or a number); 0 when left out.
int64_t number(const boost::json::object& o, std::string_view key);
// A bytes field, decoded from base64; empty when left out.
std::string bytes(const boost::json::object& o, std::string_view key);
const boost::json::object& object_of(const boost::json::object& o, std::string_view key);
const boost::json::array& array_of(const boost::json::object& o, std::string_view key);

etcd_kv read_kv(const boost::json::object& o);
std::vector<etcd_kv> read_kvs(const boost::json::object& o);  // an answer's "kvs"
int64_t header_revision(const boost::json::object& o);

// {"key", "range_end"} of `key`, or of every key starting with it.
boost::json::object key_range(const std::string& key, bool prefix);
// {"<name>": "<value>"}: the body of the lease calls.
std::string one_field(const char* name, int64_t value);
std::string encode_txn(const etcd_txn& t);
etcd_txn_result read_txn_answer(const boost::json::object& o);
// What an answer's "error" says; empty when it has none.
std::string error_of(const boost::json::object& o);
// One message of a watch stream: its events and revision, or why etcd ended the watch
// (an error, or a cancel with its reason).
std::string read_watch_answer(const boost::json::value& v, std::vector<etcd_event>& events,
                              int64_t& revision);

}  // namespace ferry::broker::etcd_json
