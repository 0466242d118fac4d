#include "common/metrics.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <stdexcept>
#include <type_traits>

namespace berth {
namespace {

// The header promises that series updates never take a lock.
static_assert(std::atomic<double>::is_always_lock_free);
static_assert(std::atomic<uint64_t>::is_always_lock_free);

template <typename Series>
constexpr MetricType kTypeOf = std::is_same_v<Series, Counter> ? MetricType::kCounter
                               : std::is_same_v<Series, Gauge> ? MetricType::kGauge
                                                               : MetricType::kHistogram;

std::string_view TypeName(MetricType type) {
  switch (type) {
    case MetricType::kCounter:
      return "counter";
    case MetricType::kGauge:
      return "gauge";
    case MetricType::kHistogram:
      return "histogram";
  }
  return "untyped";
}

bool IsAsciiAlpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool IsAsciiDigit(char c) { return c >= '0' && c <= '9'; }

bool IsMetricName(std::string_view s) {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = IsAsciiAlpha(c) || c == '_' || c == ':' || (i > 0 && IsAsciiDigit(c));
    if (!ok) return false;
  }
  return true;
}

bool IsLabelName(std::string_view s) {
  if (s.empty() || s.starts_with("__")) return false;  // "__" names are Prometheus-internal
  for (std::size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    bool ok = IsAsciiAlpha(c) || c == '_' || (i > 0 && IsAsciiDigit(c));
    if (!ok) return false;
  }
  return true;
}

void ValidateNameAndLabels(const std::string& name, MetricType type,
                           const std::vector<std::string>& label_names) {
  if (!IsMetricName(name)) throw std::invalid_argument("invalid metric name '" + name + "'");
  for (std::size_t i = 0; i < label_names.size(); ++i) {
    const std::string& label = label_names[i];
    if (!IsLabelName(label)) {
      throw std::invalid_argument("metric " + name + ": invalid label name '" + label + "'");
    }
    // "le" carries the bucket bound of every histogram sample.
    if (type == MetricType::kHistogram && label == "le") {
      throw std::invalid_argument("metric " + name + ": histograms cannot use the label 'le'");
    }
    if (std::find(label_names.begin(), label_names.begin() + i, label) != label_names.begin() + i) {
      throw std::invalid_argument("metric " + name + ": duplicate label '" + label + "'");
    }
  }
}

void ValidateBounds(const std::string& name, std::span<const double> bounds) {
  if (bounds.empty()) throw std::invalid_argument("histogram " + name + ": no bucket bounds");
  for (std::size_t i = 0; i < bounds.size(); ++i) {
    if (!std::isfinite(bounds[i])) {
      throw std::invalid_argument("histogram " + name +
                                  ": bounds must be finite (+Inf is implicit)");
    }
    if (i > 0 && !(bounds[i] > bounds[i - 1])) {
      throw std::invalid_argument("histogram " + name + ": bounds must be strictly increasing");
    }
  }
}

std::vector<std::string> SampleNames(const std::string& name, MetricType type) {
  if (type == MetricType::kHistogram) return {name + "_bucket", name + "_sum", name + "_count"};
  return {name};
}

std::string JoinLabels(const std::vector<std::string>& labels) {
  std::string out = "(";
  for (std::size_t i = 0; i < labels.size(); ++i) out += (i > 0 ? "," : "") + labels[i];
  return out + ")";
}

void AppendEscapedLabelValue(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '"') {
      out += "\\\"";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

void AppendEscapedHelp(std::string& out, std::string_view v) {
  for (char c : v) {
    if (c == '\\') {
      out += "\\\\";
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
}

// Appends `name{l1="v1",...,extra_name="extra_value"} value\n`, without braces when there are
// no labels at all.
void AppendSample(std::string& out, std::string_view name, const std::vector<std::string>& labels,
                  const std::vector<std::string>& values, std::string_view value,
                  std::string_view extra_name = {}, std::string_view extra_value = {}) {
  out += name;
  if (!labels.empty() || !extra_name.empty()) {
    out += '{';
    for (std::size_t i = 0; i < labels.size(); ++i) {
      if (i > 0) out += ',';
      out += labels[i];
      out += "=\"";
      AppendEscapedLabelValue(out, values[i]);
      out += '"';
    }
    if (!extra_name.empty()) {
      if (!labels.empty()) out += ',';
      out += extra_name;
      out += "=\"";
      AppendEscapedLabelValue(out, extra_value);
      out += '"';
    }
    out += '}';
  }
  out += ' ';
  out += value;
  out += '\n';
}

// A gauge family whose samples come from a callback at render time.
class CallbackFamily final : public MetricFamilyBase {
 public:
  CallbackFamily(std::string name, std::string help, std::vector<std::string> label_names,
                 std::function<GaugeSamples()> collect)
      : MetricFamilyBase(std::move(name), std::move(help), MetricType::kGauge,
                         std::move(label_names)),
        collect_(std::move(collect)) {}

  void RenderTo(std::string& out) const override {
    GaugeSamples samples = collect_();
    for (const auto& [values, value] : samples) {
      if (values.size() != label_names().size()) {
        throw std::invalid_argument("metric " + name() + ": callback gave " +
                                    std::to_string(values.size()) + " label values for " +
                                    std::to_string(label_names().size()) + " labels");
      }
    }
    std::sort(samples.begin(), samples.end(),
              [](const auto& a, const auto& b) { return a.first < b.first; });
    auto same = [](const auto& a, const auto& b) { return a.first == b.first; };
    if (std::adjacent_find(samples.begin(), samples.end(), same) != samples.end()) {
      throw std::invalid_argument("metric " + name() + ": callback gave duplicate label values");
    }
    RenderHeader(out);
    for (const auto& [values, value] : samples) {
      AppendSample(out, name(), label_names(), values, FormatMetricValue(value));
    }
  }

 private:
  const std::function<GaugeSamples()> collect_;
};

}  // namespace

std::string FormatMetricValue(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  char buf[32];
  // Every integral double below 2^63 converts exactly; printing it as an integer avoids the
  // exponent that the shortest form would pick for values like 1000000 ("1e+06").
  if (v == std::trunc(v) && std::fabs(v) < 9.2e18) {
    auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), static_cast<int64_t>(v));
    return std::string(buf, end);
  }
  // The fewest digits that parse back to the same double, in %g style as the Prometheus Go
  // client writes them: bucket bounds such as 0.0005 keep no exponent (the shortest form would be
  // "5e-04"); exponents from 6 up and below -4 use scientific notation.
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), v, std::chars_format::general);
  return std::string(buf, end);
}

void Counter::Inc(double v) {
  if (!(v >= 0)) return;
  value_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Histogram(std::span<const double> bounds)
    : bounds_(bounds), counts_(std::make_unique<std::atomic<uint64_t>[]>(bounds.size() + 1)) {}

void Histogram::Observe(double v) {
  std::size_t bucket =
      std::isnan(v) ? bounds_.size()
                    : static_cast<std::size_t>(std::lower_bound(bounds_.begin(), bounds_.end(), v) -
                                               bounds_.begin());
  counts_[bucket].fetch_add(1, std::memory_order_relaxed);
  sum_.fetch_add(v, std::memory_order_relaxed);
}

Histogram::Snapshot Histogram::Collect() const {
  Snapshot s;
  s.cumulative.resize(bounds_.size() + 1);
  uint64_t running = 0;
  for (std::size_t i = 0; i <= bounds_.size(); ++i) {
    running += counts_[i].load(std::memory_order_relaxed);
    s.cumulative[i] = running;
  }
  // The count is the +Inf bucket by construction, so the two always agree in one scrape.
  s.count = running;
  s.sum = sum_.load(std::memory_order_relaxed);
  return s;
}

MetricFamilyBase::MetricFamilyBase(std::string name, std::string help, MetricType type,
                                   std::vector<std::string> label_names)
    : name_(std::move(name)),
      help_(std::move(help)),
      type_(type),
      label_names_(std::move(label_names)) {}

void MetricFamilyBase::RenderHeader(std::string& out) const {
  if (!help_.empty()) {
    out += "# HELP ";
    out += name_;
    out += ' ';
    AppendEscapedHelp(out, help_);
    out += '\n';
  }
  out += "# TYPE ";
  out += name_;
  out += ' ';
  out += TypeName(type_);
  out += '\n';
}

template <typename Series>
MetricFamily<Series>::MetricFamily(std::string name, std::string help,
                                   std::vector<std::string> label_names, std::vector<double> bounds)
    : MetricFamilyBase(std::move(name), std::move(help), kTypeOf<Series>, std::move(label_names)),
      bounds_(std::move(bounds)) {}

template <typename Series>
Series& MetricFamily<Series>::With(const std::vector<std::string>& label_values) {
  if (label_values.size() != label_names().size()) {
    throw std::invalid_argument("metric " + name() + ": got " +
                                std::to_string(label_values.size()) + " label values for labels " +
                                JoinLabels(label_names()));
  }
  std::lock_guard lock(mu_);
  auto it = series_.find(label_values);
  if (it == series_.end()) {
    std::unique_ptr<Series> series;
    if constexpr (std::is_same_v<Series, Histogram>) {
      series = std::make_unique<Histogram>(std::span<const double>(bounds_));
    } else {
      series = std::make_unique<Series>();
    }
    it = series_.emplace(label_values, std::move(series)).first;
  }
  return *it->second;
}

template <typename Series>
void MetricFamily<Series>::RenderTo(std::string& out) const {
  RenderHeader(out);
  std::lock_guard lock(mu_);
  for (const auto& [values, series] : series_) {
    if constexpr (std::is_same_v<Series, Histogram>) {
      Histogram::Snapshot s = series->Collect();
      const std::string bucket = name() + "_bucket";
      for (std::size_t i = 0; i < bounds_.size(); ++i) {
        AppendSample(out, bucket, label_names(), values, std::to_string(s.cumulative[i]), "le",
                     FormatMetricValue(bounds_[i]));
      }
      AppendSample(out, bucket, label_names(), values, std::to_string(s.count), "le", "+Inf");
      AppendSample(out, name() + "_sum", label_names(), values, FormatMetricValue(s.sum));
      AppendSample(out, name() + "_count", label_names(), values, std::to_string(s.count));
    } else {
      AppendSample(out, name(), label_names(), values, FormatMetricValue(series->Value()));
    }
  }
}

template class MetricFamily<Counter>;
template class MetricFamily<Gauge>;
template class MetricFamily<Histogram>;

void MetricsRegistry::CheckNoSampleNameCollision(const std::string& name, MetricType type) const {
  std::vector<std::string> mine = SampleNames(name, type);
  for (const auto& [other_name, other] : families_) {
    if (other_name == name) continue;
    for (const std::string& theirs : SampleNames(other_name, other->type())) {
      if (std::find(mine.begin(), mine.end(), theirs) != mine.end()) {
        throw std::logic_error("metric " + name + ": sample name " + theirs +
                               " is already used by metric " + other_name);
      }
    }
  }
}

template <typename Series>
MetricFamily<Series>& MetricsRegistry::Register(const std::string& name, const std::string& help,
                                                std::vector<std::string> label_names,
                                                std::vector<double> bounds) {
  constexpr MetricType kType = kTypeOf<Series>;
  ValidateNameAndLabels(name, kType, label_names);
  std::lock_guard lock(mu_);
  if (auto it = families_.find(name); it != families_.end()) {
    // dynamic_cast also rejects a callback gauge of the same name.
    auto* existing = dynamic_cast<MetricFamily<Series>*>(it->second.get());
    if (existing == nullptr || existing->label_names() != label_names ||
        existing->bounds() != bounds) {
      throw std::logic_error("metric " + name + " is already registered as a " +
                             std::string(TypeName(it->second->type())) + " with labels " +
                             JoinLabels(it->second->label_names()) +
                             " (and possibly other buckets or a callback)");
    }
    return *existing;
  }
  CheckNoSampleNameCollision(name, kType);
  const bool unlabelled = label_names.empty();
  std::unique_ptr<MetricFamily<Series>> family(
      new MetricFamily<Series>(name, help, std::move(label_names), std::move(bounds)));
  if (unlabelled) family->With({});
  MetricFamily<Series>& ref = *family;
  families_.emplace(name, std::move(family));
  return ref;
}

CounterFamily& MetricsRegistry::Counter(const std::string& name, const std::string& help,
                                        std::vector<std::string> label_names) {
  return Register<berth::Counter>(name, help, std::move(label_names), {});
}

GaugeFamily& MetricsRegistry::Gauge(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names) {
  return Register<berth::Gauge>(name, help, std::move(label_names), {});
}

HistogramFamily& MetricsRegistry::Histogram(const std::string& name, const std::string& help,
                                            std::vector<std::string> label_names,
                                            std::span<const double> bounds) {
  ValidateBounds(name, bounds);
  return Register<berth::Histogram>(name, help, std::move(label_names),
                                    std::vector<double>(bounds.begin(), bounds.end()));
}

void MetricsRegistry::GaugeCallback(const std::string& name, const std::string& help,
                                    std::vector<std::string> label_names,
                                    std::function<GaugeSamples()> collect) {
  ValidateNameAndLabels(name, MetricType::kGauge, label_names);
  if (!collect) throw std::invalid_argument("metric " + name + ": empty callback");
  std::lock_guard lock(mu_);
  if (families_.count(name) > 0) {
    throw std::logic_error("metric " + name + " is already registered");
  }
  CheckNoSampleNameCollision(name, MetricType::kGauge);
  families_.emplace(name, std::make_unique<CallbackFamily>(name, help, std::move(label_names),
                                                           std::move(collect)));
}

std::string MetricsRegistry::Render() const {
  // Families are never removed and their addresses are stable, so rendering can run without the
  // registry lock; callbacks may then register or render without deadlocking.
  std::vector<const MetricFamilyBase*> families;
  {
    std::lock_guard lock(mu_);
    families.reserve(families_.size());
    for (const auto& [name, family] : families_) families.push_back(family.get());
  }
  std::string out;
  for (const MetricFamilyBase* family : families) family->RenderTo(out);
  return out;
}

}  // namespace berth
