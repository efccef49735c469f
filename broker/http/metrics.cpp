#include "broker/http/metrics.h"

#include <limits>

#include <boost/json/serialize.hpp>
#include <boost/json/value.hpp>
#include <prometheus/text_serializer.h>

namespace ferry::broker {

namespace pm = prometheus;
namespace json = boost::json;

pm::MetricFamily& metric_set::family(std::string name, std::string help, pm::MetricType t) {
  auto& f = families_.emplace_back();
  f.name = std::move(name);
  f.help = std::move(help);
  f.type = t;
  return f;
}

pm::MetricFamily& metric_set::counter(std::string name, std::string help) {
  return family(std::move(name), std::move(help), pm::MetricType::Counter);
}

pm::MetricFamily& metric_set::gauge(std::string name, std::string help) {
  return family(std::move(name), std::move(help), pm::MetricType::Gauge);
}

pm::MetricFamily& metric_set::histogram_family(std::string name, std::string help) {
  return family(std::move(name), std::move(help), pm::MetricType::Histogram);
}

void metric_set::counter(std::string name, std::string help, double value) {
  add(counter(std::move(name), std::move(help)), value);
}

void metric_set::gauge(std::string name, std::string help, double value) {
  add(gauge(std::move(name), std::move(help)), value);
}

void metric_set::add(pm::MetricFamily& f, double value, metric_labels labels) {
  auto& m = f.metric.emplace_back();
  m.label = std::move(labels);
  if (f.type == pm::MetricType::Counter)
    m.counter.value = value;
  else
    m.gauge.value = value;
}

void metric_set::add(pm::MetricFamily& f, const histogram& h, metric_labels labels) {
  auto& m = f.metric.emplace_back();
  m.label = std::move(labels);
  m.histogram.sample_count = h.count();
  m.histogram.sample_sum = h.sum();
  for (size_t i = 0; i < h.buckets(); ++i)
    m.histogram.bucket.push_back({h.cumulative(i), h.bound(i)});
  m.histogram.bucket.push_back({h.count(), std::numeric_limits<double>::infinity()});
}

metrics_registry::snapshot metrics_registry::take_broker() const {
  snapshot snap;
  snap.reserve(sources_.size() + paged_.size());
  for (const auto& s : sources_)
    snap.push_back(s());
  return snap;
}

namespace {

// A snapshot under way: the per-topic sources still taking pages.
struct paged_take {
  metrics_registry::snapshot snap;
  std::vector<std::shared_ptr<paged_snapshot>> pages;
  size_t at = 0;  // the source taking pages now
  post_fn loop;
  std::function<void(metrics_registry::snapshot)> done;
};

void next_page(const std::shared_ptr<paged_take>& t) {
  if (t->at == t->pages.size()) return t->done(std::move(t->snap));
  if (t->pages[t->at]->next(metrics_registry::page_size)) ++t->at;
  t->loop([t] { next_page(t); });
}

}  // namespace

void metrics_registry::take(post_fn loop, std::function<void(snapshot)> done) const {
  auto t = std::make_shared<paged_take>();
  t->snap = take_broker();
  for (const auto& start : paged_) {
    auto p = start();
    t->pages.push_back(p);
    t->snap.push_back([p](metric_set& s) { p->render(s); });
  }
  t->loop = std::move(loop);
  t->done = std::move(done);
  next_page(t);
}

namespace {

std::vector<pm::MetricFamily> families_of(const metrics_registry::snapshot& snap) {
  metric_set set;
  for (const auto& r : snap)
    r(set);
  return {std::make_move_iterator(set.families().begin()),
          std::make_move_iterator(set.families().end())};
}

json::value series_value(const pm::MetricFamily& f, const pm::ClientMetric& m) {
  switch (f.type) {
    case pm::MetricType::Counter: return m.counter.value;
    case pm::MetricType::Histogram:
      return json::object{{"count", m.histogram.sample_count}, {"sum", m.histogram.sample_sum}};
    default: return m.gauge.value;
  }
}

}  // namespace

std::string metrics_registry::render(const snapshot& snap) {
  return pm::TextSerializer().Serialize(families_of(snap));
}

std::string metrics_registry::render_json(const snapshot& snap) {
  json::object out;
  for (const auto& f : families_of(snap)) {
    if (f.metric.size() == 1 && f.metric[0].label.empty()) {
      out[f.name] = series_value(f, f.metric[0]);
      continue;
    }
    json::array series;
    for (const auto& m : f.metric) {
      json::object labels;
      for (const auto& l : m.label)
        labels[l.name] = l.value;
      series.push_back(json::object{{"labels", std::move(labels)}, {"value", series_value(f, m)}});
    }
    out[f.name] = std::move(series);
  }
  return json::serialize(out);
}

}  // namespace ferry::broker
