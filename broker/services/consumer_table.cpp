#include "broker/services/consumer_table.h"

#include "broker/groups/group_coordinator.h"
#include "broker/logs/log_topic.h"
#include "broker/queues/queue_registry.h"

namespace ferry::broker {

consumer_table::consumer_table(const context& ctx, delivery_sink& sink, const int64_t* activity,
                               const bool* output_gate)
    : ctx_(ctx), sink_(sink), activity_(activity), output_gate_(output_gate) {}

consumer_table::~consumer_table() {
  remove_all();
}

consumer& consumer_table::add(uint32_t prefetch, bool auto_ack) {
  uint64_t id = next_id_++;
  auto c = std::make_unique<consumer>(id, sink_, prefetch, auto_ack);
  c->set_activity_source(activity_);
  c->set_output_gate(output_gate_);
  auto& ref = *c;
  consumers_.emplace(id, std::move(c));
  return ref;
}

consumer* consumer_table::find(uint64_t id) {
  auto it = consumers_.find(id);
  return it == consumers_.end() ? nullptr : it->second.get();
}

void consumer_table::remove(uint64_t id, bool write_pending) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return;
  consumer& c = *it->second;
  // Unwritten deliveries of an ack consumer are requeued by detach() below.
  sink_.consumer_closing(c, write_pending && c.auto_ack());
  ctx_.groups.leave(c);
  if (log_reader* r = c.reader()) r->topic().detach(c);
  if (subscription* s = c.sub()) {
    s->detach(c);
    if (s->ephemeral()) ctx_.queues.remove_ephemeral(s);
  }
  consumers_.erase(it);
}

void consumer_table::remove_all() {
  while (!consumers_.empty())
    remove(consumers_.begin()->first);
}

void consumer_table::forget(uint64_t id) {
  auto it = consumers_.find(id);
  if (it == consumers_.end()) return;
  // Whoever cancelled it took it out of its group first; never leave a member behind.
  if (it->second->group() != nullptr) ctx_.groups.leave(*it->second);
  consumers_.erase(it);
}

std::vector<uint64_t> consumer_table::ids() const {
  std::vector<uint64_t> out;
  out.reserve(consumers_.size());
  for (const auto& [id, c] : consumers_)
    out.push_back(id);
  return out;
}

}  // namespace ferry::broker
