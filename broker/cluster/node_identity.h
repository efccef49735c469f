// node_identity: which cluster node a data dir belongs to, kept in DATA_DIR/node.json
// (like Kafka's meta.properties): the node id it was first started with, and an
// incarnation, a random id made then. A data dir started as another node id is refused
// (its records belong to the first); the incarnation tells a node's own stale
// registration in etcd (after kill -9) from another node's claim on the same id.
#pragma once

#include <cstdint>
#include <string>

namespace ferry::broker {

struct node_identity {
  uint32_t node_id = 0;
  std::string incarnation;  // 32 hex digits
};

// Reads DATA_DIR/node.json, or writes it (synced) when there is none. An error message when
// the file is unreadable or names another node id.
std::string load_node_identity(const std::string& data_dir, uint32_t node_id, node_identity& out);

}  // namespace ferry::broker
