#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth {

// Content-Type of MetricsRegistry::Render(): Prometheus text exposition format 0.0.4.
inline constexpr std::string_view kPrometheusContentType =
    "text/plain; version=0.0.4; charset=utf-8";

// Histogram upper bounds in seconds for proxied HTTP requests: sub-millisecond answers from
// berth itself up to the minute-long streams of an agent's LLM call.
inline constexpr double kLatencyBuckets[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1,
                                             0.25,   0.5,   1,      2.5,   5,    10,    30,   60};

// Histogram upper bounds in seconds for agent starts, up to BERTH_START_TIMEOUT's range.
inline constexpr double kStartDurationBuckets[] = {0.1, 0.25, 0.5, 1,  2.5, 5,   10,
                                                   20,  30,   60,  90, 120, 180, 300};

// One monotonically increasing series. Lock-free; safe from any thread.
class Counter {
 public:
  Counter() = default;
  Counter(const Counter&) = delete;
  Counter& operator=(const Counter&) = delete;

  // Adds `v`. A counter only goes up: negative and NaN values are ignored.
  void Inc(double v = 1);
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// One series that goes up and down. Lock-free; safe from any thread.
class Gauge {
 public:
  Gauge() = default;
  Gauge(const Gauge&) = delete;
  Gauge& operator=(const Gauge&) = delete;

  void Set(double v) { value_.store(v, std::memory_order_relaxed); }
  void Inc(double v = 1) { value_.fetch_add(v, std::memory_order_relaxed); }
  void Dec(double v = 1) { value_.fetch_sub(v, std::memory_order_relaxed); }
  double Value() const { return value_.load(std::memory_order_relaxed); }

 private:
  std::atomic<double> value_{0};
};

// One series of observations counted into fixed buckets. Lock-free; safe from any thread.
class Histogram {
 public:
  // A consistent-enough view for rendering: `cumulative[i]` counts observations <= bounds[i],
  // the last entry (+Inf) equals `count`. `sum` may lag the counts by in-flight observations.
  struct Snapshot {
    std::vector<uint64_t> cumulative;
    uint64_t count = 0;
    double sum = 0;
  };

  // `bounds` (strictly increasing, finite) must outlive the histogram; the registry passes its
  // family's copy.
  explicit Histogram(std::span<const double> bounds);
  Histogram(const Histogram&) = delete;
  Histogram& operator=(const Histogram&) = delete;

  // Counts `v` in the first bucket whose bound is >= v; NaN and values above every bound land in
  // +Inf only.
  void Observe(double v);
  Snapshot Collect() const;

 private:
  std::span<const double> bounds_;
  // Per-bucket (not cumulative) counts; one more than bounds_ for +Inf. Cumulating at collect
  // time keeps Observe to one increment.
  std::unique_ptr<std::atomic<uint64_t>[]> counts_;
  std::atomic<double> sum_{0};
};

enum class MetricType { kCounter, kGauge, kHistogram };

// What the registry needs from every family to check registrations and render. Not for direct
// use: families are obtained from MetricsRegistry.
class MetricFamilyBase {
 public:
  virtual ~MetricFamilyBase() = default;
  MetricFamilyBase(const MetricFamilyBase&) = delete;
  MetricFamilyBase& operator=(const MetricFamilyBase&) = delete;

  const std::string& name() const { return name_; }
  const std::string& help() const { return help_; }
  MetricType type() const { return type_; }
  const std::vector<std::string>& label_names() const { return label_names_; }

  // Appends "# HELP", "# TYPE" and the sample lines. May throw what a callback throws.
  virtual void RenderTo(std::string& out) const = 0;

 protected:
  MetricFamilyBase(std::string name, std::string help, MetricType type,
                   std::vector<std::string> label_names);
  void RenderHeader(std::string& out) const;

 private:
  std::string name_;
  std::string help_;
  MetricType type_;
  std::vector<std::string> label_names_;
};

// A metric name with a fixed list of label names, and its series (one per label-value tuple).
// Owned by the registry; its address, and the address of every series it hands out, stay valid
// for the registry's lifetime. Thread-safe.
template <typename Series>
class MetricFamily final : public MetricFamilyBase {
 public:
  // The series for `label_values` (in label_names() order, UTF-8), created on first use. Takes a
  // mutex: hot paths call it once and keep the reference.
  // Throws std::invalid_argument when the number of values differs from label_names().size().
  Series& With(const std::vector<std::string>& label_values);

  // Histogram families only: the bucket upper bounds, without +Inf.
  const std::vector<double>& bounds() const { return bounds_; }

  void RenderTo(std::string& out) const override;

 private:
  friend class MetricsRegistry;
  MetricFamily(std::string name, std::string help, std::vector<std::string> label_names,
               std::vector<double> bounds);

  const std::vector<double> bounds_;
  mutable std::mutex mu_;
  // Ordered by label values so that rendering is deterministic.
  std::map<std::vector<std::string>, std::unique_ptr<Series>> series_;
};

// Defined in metrics.cpp for these three series types only.
extern template class MetricFamily<Counter>;
extern template class MetricFamily<Gauge>;
extern template class MetricFamily<Histogram>;

using CounterFamily = MetricFamily<Counter>;
using GaugeFamily = MetricFamily<Gauge>;
using HistogramFamily = MetricFamily<Histogram>;

// Label values and value of each sample of a gauge computed at scrape time.
using GaugeSamples = std::vector<std::pair<std::vector<std::string>, double>>;

// The process's metrics and their Prometheus text rendering.
//
// Registration is for start-up wiring; a conflicting registration is a programming error and
// throws (std::logic_error, or its subclass std::invalid_argument for malformed names, labels or
// buckets). Families are never removed. All methods are thread-safe.
class MetricsRegistry {
 public:
  MetricsRegistry() = default;
  MetricsRegistry(const MetricsRegistry&) = delete;
  MetricsRegistry& operator=(const MetricsRegistry&) = delete;

  // Registers a family, or returns the existing one when `name` is already registered with the
  // same type and label names (and bounds, for histograms); the first help text is kept.
  // Throws std::logic_error when `name` is taken otherwise, or when its samples' names collide
  // with another family's (a histogram "x" owns x_bucket, x_sum and x_count).
  // Names follow Prometheus: [a-zA-Z_:][a-zA-Z0-9_:]* for metrics, [a-zA-Z_][a-zA-Z0-9_]* without
  // a leading "__" for labels; histograms may not use the label "le".
  // A family without labels has its one series from the start, so it renders as 0.
  CounterFamily& Counter(const std::string& name, const std::string& help,
                         std::vector<std::string> label_names = {});
  GaugeFamily& Gauge(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names = {});
  // `bounds`: strictly increasing finite upper bounds, e.g. kLatencyBuckets; +Inf is implicit.
  HistogramFamily& Histogram(const std::string& name, const std::string& help,
                             std::vector<std::string> label_names, std::span<const double> bounds);

  // A gauge family whose samples `collect` computes at every Render() (e.g. agents by status).
  // `collect` runs on the rendering thread with no registry lock held, possibly concurrently
  // with itself; it may call into the registry. Each sample needs one value per label name and
  // distinct label values, else Render() throws std::invalid_argument.
  // Throws std::logic_error when `name` is already registered (callbacks cannot be compared).
  void GaugeCallback(const std::string& name, const std::string& help,
                     std::vector<std::string> label_names, std::function<GaugeSamples()> collect);

  // All families sorted by name, each family's series sorted by label values. Propagates what a
  // callback throws.
  std::string Render() const;

 private:
  // Throws std::logic_error when a family other than `name` already exposes one of the sample
  // names a family `name` of `type` would. REQUIRES: mu_ held.
  void CheckNoSampleNameCollision(const std::string& name, MetricType type) const;
  template <typename Series>
  MetricFamily<Series>& Register(const std::string& name, const std::string& help,
                                 std::vector<std::string> label_names, std::vector<double> bounds);

  mutable std::mutex mu_;
  std::map<std::string, std::unique_ptr<MetricFamilyBase>> families_;
};

// Prometheus sample value text: integers without exponent ("3", "1000000"), other values with the
// fewest digits that parse back to the same double, in %g style ("0.5", "0.0005", "1e-09",
// "1.2345675e+06"), and "NaN", "+Inf", "-Inf".
std::string FormatMetricValue(double v);

}  // namespace berth
