#include "broker/shares/share_registry.h"

#include "broker/core/errors.h"
#include "broker/core/log.h"
#include "broker/logs/log_registry.h"
#include "broker/logs/log_topic.h"
#include "broker/topics/topic_directory.h"
#include "storage/meta_keys.h"
#include "storage/meta_store.h"

namespace ferry::broker {

ferry::error share_registry::make(const std::string& name, std::string_view topic_name,
                                  const subscription_options& o, bool recovered,
                                  std::unique_ptr<subscription_feed>& out) {
  log_topic* t = logs_.find(topic_name);
  if (t == nullptr)
    return fail(errc::topic_not_found, "log topic " + quoted(topic_name) + " does not exist");
  if (o.max_messages != 0 || o.max_bytes != 0 || o.reject_publish)
    return fail(errc::invalid_argument,
                "max_messages, max_bytes and overflow do not apply to a subscription on a log "
                "topic: its backlog is the log (retention bounds it)");
  if (!o.dead_letter_topic.empty()) {
    if (o.dead_letter_topic == topic_name)
      return fail(errc::invalid_argument, "the dead-letter topic cannot be the topic itself");
    if (!recovered && ctx_.topics.find(o.dead_letter_topic) == nullptr)
      return fail(errc::topic_not_found,
                  "dead-letter topic " + quoted(o.dead_letter_topic) + " does not exist");
  }
  std::vector<share_state> states;
  if (recovered) {
    if (auto err = load(name, t->partition_count(), states)) return err;
  } else {
    for (uint32_t p = 0; p < t->partition_count(); ++p)
      states.emplace_back(t->bounds(p).next);  // from the log's end, as a new queue starts empty
  }
  out = std::make_unique<log_share>(name, *t, std::move(states), ctx_);
  return {};
}

ferry::error share_registry::load(const std::string& name, uint32_t partitions,
                                  std::vector<share_state>& out) const {
  out.assign(partitions, share_state{});
  std::vector<bool> found(partitions, false);
  const std::string prefix = storage::meta_keys::share_prefix(name);
  ferry::error bad;
  auto err = ctx_.store.scan(prefix, [&](std::string_view key, std::string_view value) {
    auto p = storage::meta_keys::partition_of(key, prefix);
    share_state s;
    if (!p || !share_state::decode(value, s)) {
      bad = fail(errc::storage_error, "unreadable delivery state " + quoted(key));
      return;
    }
    if (*p >= partitions) return;  // left by an earlier subscription of the name: not ours
    out[*p] = std::move(s);
    found[*p] = true;
  });
  if (err) return err;
  if (bad) return bad;
  // Written with the definition, so never missing; if it is anyway, the partition is read
  // from its start: nothing is missed (at least once), some may come again.
  for (uint32_t p = 0; p < partitions; ++p)
    if (!found[p])
      log::queues().error("subscription {}: no stored state for partition {}: read from its start",
                          name, p);
  return {};
}

}  // namespace ferry::broker
