// publisher: what the client knows of a topic. The first publish to a topic (and the
// first after an answer that says the topic changed) asks the broker for its kind and
// partition count; publishes to it are held until the answer.
#include "ferry/v1/admin.pb.h"

#include "client/src/publisher.h"

namespace ferry::client::detail {

void publisher::describe(topic_state& t) {
  if (t.k == topic_state::kind::describing) return;
  t.k = topic_state::kind::describing;
  t.stale = false;
  auto req = std::make_shared<v1::DescribeTopic>();
  req->set_name(t.name);
  auto info = std::make_shared<v1::TopicInfo>();
  c_.send_request(codec::body::describe_topic, req, codec::body::topic_info, info,
                  [this, alive = lifetime_.watch(), name = t.name, info](error e) {
                    if (!alive.expired()) on_described(name, e, *info);
                  });
}

void publisher::on_described(const std::string& name, const error& e, const v1::TopicInfo& info) {
  auto it = topics_.find(name);
  if (it == topics_.end() || it->second.k != topic_state::kind::describing) return;
  topic_state& t = it->second;
  if (e) {
    t.k = topic_state::kind::unknown;
    // A describe lost with its connection is asked again; the held publishes, like
    // publishes in frames, outlive the connection.
    if (e.code == errc::disconnected && !c_.closed() && !t.holding.empty()) {
      describe(t);
      return;
    }
  } else if (info.kind() == v1::LOG) {
    t.k = topic_state::kind::log;
    t.partitions = info.partitions_size() > 0 ? static_cast<uint32_t>(info.partitions_size())
                                              : std::max<uint32_t>(1, info.options().partitions());
  } else {
    t.k = topic_state::kind::memory;
  }
  auto holding = std::move(t.holding);
  t.holding.clear();
  for (auto& h : holding) {
    held_bytes_ -= std::min(h.bytes, held_bytes_);
    if (e) {
      fail_target(h.target, e, true);
    } else if (error err = admit(t, h.msg, h.target)) {
      fail_target(h.target, err, false);
    }
  }
  drain();
}

}  // namespace ferry::client::detail
