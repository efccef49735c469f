// metrics: what /metrics serves. A scrape has two halves: on the loop each subsystem's
// source (broker_metrics.h) copies what it needs from its probe and the service layer's
// descriptions (a snapshot, quick); then, on any thread, the snapshot writes its metric
// families and prometheus-cpp's text serializer writes them out (the Prometheus text
// exposition format, version 0.0.4), the slow half, kept off the loop. Nothing is counted
// here: the probes own the counters.
#pragma once

#include <deque>
#include <functional>
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

class metrics_registry {
 public:
  // Writes a source's families from its snapshot; holds copies, never references into
  // the broker, so it may run on another thread.
  using render_fn = std::function<void(metric_set&)>;
  // Runs on the loop: takes the snapshot.
  using source = std::function<render_fn()>;
  using snapshot = std::vector<render_fn>;

  // `per_topic`: the source's series are per topic, subscription, partition or group (what
  // a scrape of a big broker spends its time on); the others describe the broker as one.
  void add(source s, bool per_topic = false) { sources_.push_back({std::move(s), per_topic}); }
  // Loop only: the sources' snapshots (the broker-wide ones only, unless `per_topic`), in
  // the order the sources were added.
  snapshot take(bool per_topic = true) const;
  // Any thread: the snapshot's families, serialized in the text exposition format.
  static std::string render(const snapshot& snap);
  // Any thread: the snapshot's families as one JSON object, name -> value (a series
  // without labels), {count, sum} (a histogram), or [{labels, value}] (labelled series).
  static std::string render_json(const snapshot& snap);

 private:
  struct entry {
    source take;
    bool per_topic;
  };
  std::vector<entry> sources_;
};

}  // namespace ferry::broker
