#include "broker/cluster/partition_table.h"

#include <charconv>
#include <optional>

#include "broker/cluster/placement.h"
#include "broker/core/log.h"

namespace ferry::broker {

namespace {

// (topic, partition) of a key's part after <prefix>/partitions/: "<topic>/<p>".
std::optional<std::pair<std::string, uint32_t>> key_of(std::string_view rest) {
  const auto slash = rest.rfind('/');
  if (slash == std::string_view::npos || slash == 0) return std::nullopt;
  uint32_t p = 0;
  const auto digits = rest.substr(slash + 1);
  const auto [end, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), p);
  if (ec != std::errc() || end != digits.data() + digits.size() || digits.empty())
    return std::nullopt;
  return std::make_pair(std::string(rest.substr(0, slash)), p);
}

}  // namespace

partition_table::partition_table(etcd_client& etcd,
                                 std::function<void(int64_t, etcd_mirror::task)> after,
                                 const std::string& prefix, std::function<void()> on_change)
    : prefix_(partitions_root(prefix)),
      changed_(std::move(on_change)),
      mirror_(
          etcd, std::move(after), prefix_, true,
          [this](const std::vector<etcd_kv>& kvs) { reset(kvs); },
          [this](const etcd_event& e) { changed(e); }) {}

void partition_table::reset(const std::vector<etcd_kv>& kvs) {
  partitions_.clear();
  for (const auto& kv : kvs)
    changed({false, kv});
}

void partition_table::changed(const etcd_event& e) {
  const auto key = key_of(std::string_view(e.kv.key).substr(prefix_.size()));
  if (!key) {
    log::cluster().error("etcd key {} does not name a partition", e.kv.key);
    return;
  }
  if (e.erased) {
    partitions_.erase(*key);
    return;
  }
  partition_state st;
  if (!decode_partition_state(e.kv.value, st)) {
    log::cluster().error("etcd key {} does not hold a partition's state: {}", e.kv.key, e.kv.value);
    partitions_.erase(*key);
    return;
  }
  st.revision = e.kv.mod_revision;
  partitions_[*key] = std::move(st);
  if (changed_) changed_();
}

}  // namespace ferry::broker
