// metrics: what /metrics serves. A scrape has two halves: on the loop each subsystem's
// source (broker_metrics.h) copies what it needs from its probe and the service layer's
// descriptions (a snapshot, quick); then, on any thread, the snapshot writes its metric
// families and prometheus-cpp's text serializer writes them out (the Prometheus text
// exposition format, version 0.0.4), the slow half, kept off the loop. Nothing is counted
// here: the probes own the counters.
#pragma once

#include <deque>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/metric_family.h>

#include "support/histogram.h"

namespace ferry::broker {

using metric_labels = std::vector<prometheus::ClientMetric::Label>;

class metric_set {
 public:
  prometheus::MetricFamily& counter(std::string name, std::string help);
  prometheus::MetricFamily& gauge(std::string name, std::string help);
  prometheus::MetricFamily& histogram_family(std::string name, std::string help);

  static void add(prometheus::MetricFamily& f, double value, metric_labels labels = {});
  static void add(prometheus::MetricFamily& f, const histogram& h, metric_labels labels = {});

  // A family with one series and no labels, in one call.
  void counter(std::string name, std::string help, double value);
  void gauge(std::string name, std::string help, double value);

  // A deque: the families a source holds on to stay put while it adds more.
  std::deque<prometheus::MetricFamily>& families() { return families_; }

 private:
  prometheus::MetricFamily& family(std::string name, std::string help, prometheus::MetricType t);
  std::deque<prometheus::MetricFamily> families_;
};

// Runs a task on an executor (the broker's loop, or the HTTP worker thread).
using post_fn = std::function<void(std::function<void()>)>;

// The snapshot of a per-topic source (series per topic, subscription, partition or group:
// what a scrape of a big broker spends its time on), taken a page per loop turn so that
// 100k topics never hold the loop for the whole list.
class paged_snapshot {
 public:
  virtual ~paged_snapshot() = default;
  // Loop only: copies up to `n` more entries; true once it holds them all.
  virtual bool next(size_t n) = 0;
  // Any thread, once complete: writes the families.
  virtual void render(metric_set& s) const = 0;
};

class metrics_registry {
 public:
  // Writes a source's families from its snapshot; holds copies, never references into
  // the broker, so it may run on another thread.
  using render_fn = std::function<void(metric_set&)>;
  // Runs on the loop: takes the snapshot of a source that describes the broker as one.
  using source = std::function<render_fn()>;
  // Runs on the loop: starts the snapshot of a per-topic source.
  using paged_source = std::function<std::shared_ptr<paged_snapshot>()>;
  using snapshot = std::vector<render_fn>;

  // Entries a per-topic snapshot copies per loop turn (~0.5 us each).
  static constexpr size_t page_size = 256;

  void add(source s) { sources_.push_back(std::move(s)); }
  void add_paged(paged_source s) { paged_.push_back(std::move(s)); }
  // Loop only, at once: the broker-wide sources' snapshots, in the order they were added.
  snapshot take_broker() const;
  // Loop only: every source's snapshot, the broker-wide ones at once and the per-topic
  // ones a page per turn of the loop (`loop` posts the next turn); then `done(snapshot)`,
  // on the loop.
  void take(post_fn loop, std::function<void(snapshot)> done) const;
  // Any thread: the snapshot's families, serialized in the text exposition format.
  static std::string render(const snapshot& snap);
  // Any thread: the snapshot's families as one JSON object, name -> value (a series
  // without labels), {count, sum} (a histogram), or [{labels, value}] (labelled series).
  static std::string render_json(const snapshot& snap);

 private:
  std::vector<source> sources_;
  std::vector<paged_source> paged_;
};

}  // namespace ferry::broker
