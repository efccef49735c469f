#include "broker/cluster/etcd_mirror.h"

#include "broker/core/log.h"

namespace ferry::broker {

etcd_mirror::etcd_mirror(etcd_client& etcd, std::function<void(int64_t, task)> after,
                         std::string key, bool prefix, reset_fn reset, changed_fn changed)
    : etcd_(etcd),
      after_(std::move(after)),
      key_(std::move(key)),
      prefix_(prefix),
      reset_(std::move(reset)),
      changed_(std::move(changed)) {}

etcd_mirror::~etcd_mirror() {
  stop();
}

void etcd_mirror::start() {
  if (started_) return;
  started_ = true;
  read();
}

void etcd_mirror::stop() {
  started_ = false;
  ++generation_;
  if (watch_id_ != 0) etcd_.cancel_watch(watch_id_);
  watch_id_ = 0;
}

// The keys, then a watch from the revision after the read.
void etcd_mirror::read() {
  etcd_.range(key_, prefix_,
              lifetime_.guard([this, gen = generation_](std::string error, std::vector<etcd_kv> kvs,
                                                        int64_t rev) {
                if (gen != generation_) return;
                if (!error.empty()) return again("reading", error);
                reset_(kvs);
                watch_id_ =
                    etcd_.watch(key_, prefix_, rev + 1,
                                lifetime_.guard([this](std::vector<etcd_event> events, int64_t) {
                                  for (const auto& e : events)
                                    changed_(e);
                                }),
                                lifetime_.guard([this, gen](std::string why) {
                                  if (gen != generation_) return;
                                  watch_id_ = 0;
                                  again("watching", why);
                                }));
              }));
}

void etcd_mirror::again(const char* what, const std::string& why) {
  log::cluster().debug("{} {}: {}; again in {} ms", what, key_, why, etcd_retry_ms);
  after_(etcd_retry_ms, lifetime_.guard([this, gen = generation_] {
    if (gen == generation_) read();
  }));
}

}  // namespace ferry::broker
