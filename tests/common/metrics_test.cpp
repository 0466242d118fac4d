#include "common/metrics.hpp"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstdlib>
#include <limits>
#include <random>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace berth {
namespace {

const std::vector<double> kThreeBuckets = {0.1, 0.5, 1};

TEST(MetricsRegistry, RendersCounterGaugeAndHistogramExactly) {
  MetricsRegistry registry;
  auto& requests = registry.Counter("berth_http_requests_total", "HTTP requests served.",
                                    {"route", "method", "status"});
  // Created out of order: rendering sorts series by label values.
  requests.With({"/api/agent", "POST", "503"}).Inc();
  requests.With({"/api/agent", "GET", "200"}).Inc();
  requests.With({"/api/agent", "GET", "200"}).Inc(2);
  registry.Gauge("berth_agents_running", "Agents running now.").With({}).Set(3);
  auto& latency = registry.Histogram("berth_http_request_duration_seconds", "Request latency.",
                                     {"route"}, kThreeBuckets);
  Histogram& h = latency.With({"/api/agent"});
  // Binary fractions keep the sum exact; 0.5 sits on a bound and counts in le="0.5".
  for (double v : {0.0625, 0.5, 0.75, 2.0, 4.0}) h.Observe(v);

  EXPECT_EQ(registry.Render(),
            "# HELP berth_agents_running Agents running now.\n"
            "# TYPE berth_agents_running gauge\n"
            "berth_agents_running 3\n"
            "# HELP berth_http_request_duration_seconds Request latency.\n"
            "# TYPE berth_http_request_duration_seconds histogram\n"
            "berth_http_request_duration_seconds_bucket{route=\"/api/agent\",le=\"0.1\"} 1\n"
            "berth_http_request_duration_seconds_bucket{route=\"/api/agent\",le=\"0.5\"} 2\n"
            "berth_http_request_duration_seconds_bucket{route=\"/api/agent\",le=\"1\"} 3\n"
            "berth_http_request_duration_seconds_bucket{route=\"/api/agent\",le=\"+Inf\"} 5\n"
            "berth_http_request_duration_seconds_sum{route=\"/api/agent\"} 7.3125\n"
            "berth_http_request_duration_seconds_count{route=\"/api/agent\"} 5\n"
            "# HELP berth_http_requests_total HTTP requests served.\n"
            "# TYPE berth_http_requests_total counter\n"
            "berth_http_requests_total{route=\"/api/agent\",method=\"GET\",status=\"200\"} 3\n"
            "berth_http_requests_total{route=\"/api/agent\",method=\"POST\",status=\"503\"} 1\n");
}

TEST(MetricsRegistry, UnlabelledFamiliesRenderZeroAndHistogramsOnlyLe) {
  MetricsRegistry registry;
  registry.Counter("c_total", "");
  registry.Histogram("h_seconds", "H.", {}, kThreeBuckets).With({}).Observe(0.25);
  registry.Gauge("labelled", "No series yet.", {"kind"});

  EXPECT_EQ(registry.Render(),
            "# TYPE c_total counter\n"
            "c_total 0\n"
            "# HELP h_seconds H.\n"
            "# TYPE h_seconds histogram\n"
            "h_seconds_bucket{le=\"0.1\"} 0\n"
            "h_seconds_bucket{le=\"0.5\"} 1\n"
            "h_seconds_bucket{le=\"1\"} 1\n"
            "h_seconds_bucket{le=\"+Inf\"} 1\n"
            "h_seconds_sum 0.25\n"
            "h_seconds_count 1\n"
            "# HELP labelled No series yet.\n"
            "# TYPE labelled gauge\n");
}

TEST(MetricsRegistry, EscapesLabelValuesAndHelp) {
  MetricsRegistry registry;
  auto& family = registry.Gauge("g", "first line\nback\\slash \"quoted\"", {"path"});
  family.With({"a\\b\"c\nd"}).Set(1);

  EXPECT_EQ(registry.Render(),
            "# HELP g first line\\nback\\\\slash \"quoted\"\n"
            "# TYPE g gauge\n"
            "g{path=\"a\\\\b\\\"c\\nd\"} 1\n");
}

TEST(MetricsRegistry, HistogramCountsNaNAndValuesAboveEveryBoundInInfOnly) {
  MetricsRegistry registry;
  Histogram& h = registry.Histogram("h", "", {}, kThreeBuckets).With({});
  h.Observe(1);  // on the last bound
  h.Observe(1.5);
  h.Observe(std::numeric_limits<double>::quiet_NaN());
  Histogram::Snapshot s = h.Collect();
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, 0, 1, 3}));
  EXPECT_EQ(s.count, 3u);
  EXPECT_TRUE(std::isnan(s.sum));
}

TEST(MetricValue, IntegersWithoutExponentOtherValuesShortestRoundTrip) {
  EXPECT_EQ(FormatMetricValue(0), "0");
  EXPECT_EQ(FormatMetricValue(1), "1");
  EXPECT_EQ(FormatMetricValue(-2), "-2");
  EXPECT_EQ(FormatMetricValue(1000000), "1000000");
  EXPECT_EQ(FormatMetricValue(9007199254740993.0), "9007199254740992");
  EXPECT_EQ(FormatMetricValue(0.5), "0.5");
  EXPECT_EQ(FormatMetricValue(0.1), "0.1");
  EXPECT_EQ(FormatMetricValue(0.0005), "0.0005");
  EXPECT_EQ(FormatMetricValue(2.5), "2.5");
  EXPECT_EQ(FormatMetricValue(0.0001), "0.0001");
  EXPECT_EQ(FormatMetricValue(1e-9), "1e-09");
  EXPECT_EQ(FormatMetricValue(1e20), "1e+20");
  EXPECT_EQ(FormatMetricValue(123456.5), "123456.5");
  EXPECT_EQ(FormatMetricValue(1234567.5), "1.2345675e+06");
  EXPECT_EQ(FormatMetricValue(1.0 / 3), "0.3333333333333333");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::infinity()), "+Inf");
  EXPECT_EQ(FormatMetricValue(-std::numeric_limits<double>::infinity()), "-Inf");
  EXPECT_EQ(FormatMetricValue(std::numeric_limits<double>::quiet_NaN()), "NaN");

  std::mt19937_64 rng(42);
  std::uniform_real_distribution<double> dist(-1e6, 1e6);
  for (int i = 0; i < 1000; ++i) {
    double v = dist(rng) / 7;
    std::string text = FormatMetricValue(v);
    EXPECT_EQ(std::strtod(text.c_str(), nullptr), v) << text;
  }
}

TEST(MetricsRegistry, ConcurrentUpdatesSumExactly) {
  constexpr int kThreads = 8;
  constexpr int kEach = 100000;
  MetricsRegistry registry;
  auto& counters = registry.Counter("ops_total", "", {"worker"});
  Counter& shared = registry.Counter("shared_total", "").With({});
  Gauge& in_flight = registry.Gauge("in_flight", "").With({});
  Histogram& latency = registry.Histogram("latency", "", {}, kThreeBuckets).With({});

  std::atomic<bool> done{false};
  // Scrapes run while the series change, as Prometheus would.
  std::thread scraper([&] {
    while (!done.load()) EXPECT_FALSE(registry.Render().empty());
  });
  std::vector<std::thread> workers;
  for (int t = 0; t < kThreads; ++t) {
    workers.emplace_back([&, t] {
      Counter& mine = counters.With({std::to_string(t)});
      for (int i = 0; i < kEach; ++i) {
        shared.Inc();
        mine.Inc();
        in_flight.Inc();
        latency.Observe(0.25);
        in_flight.Dec();
      }
    });
  }
  for (std::thread& w : workers) w.join();
  done = true;
  scraper.join();

  EXPECT_EQ(shared.Value(), double{kThreads} * kEach);
  for (int t = 0; t < kThreads; ++t) {
    EXPECT_EQ(counters.With({std::to_string(t)}).Value(), kEach);
  }
  EXPECT_EQ(in_flight.Value(), 0);
  Histogram::Snapshot s = latency.Collect();
  EXPECT_EQ(s.count, uint64_t{kThreads} * kEach);
  EXPECT_EQ(s.cumulative, (std::vector<uint64_t>{0, s.count, s.count, s.count}));
  EXPECT_EQ(s.sum, 0.25 * kThreads * kEach);
  EXPECT_NE(registry.Render().find("shared_total 800000\n"), std::string::npos);
}

TEST(MetricsRegistry, CallbackGaugesAreComputedAtEveryRenderInLabelOrder) {
  MetricsRegistry registry;
  int running = 2;
  registry.GaugeCallback("berth_agents", "Agents by status.", {"status"}, [&] {
    return GaugeSamples{{{"stopped"}, 5}, {{"running"}, double(running)}, {{"failed"}, 0}};
  });
  const std::string header =
      "# HELP berth_agents Agents by status.\n"
      "# TYPE berth_agents gauge\n";
  EXPECT_EQ(registry.Render(), header +
                                   "berth_agents{status=\"failed\"} 0\n"
                                   "berth_agents{status=\"running\"} 2\n"
                                   "berth_agents{status=\"stopped\"} 5\n");
  running = 7;
  EXPECT_NE(registry.Render().find("berth_agents{status=\"running\"} 7\n"), std::string::npos);
}

TEST(MetricsRegistry, CallbackMayUseTheRegistry) {
  MetricsRegistry registry;
  registry.GaugeCallback("a", "", {}, [&] {
    // Would deadlock if Render held the registry lock while collecting.
    registry.Counter("b_total", "");
    return GaugeSamples{{{}, 1}};
  });
  EXPECT_EQ(registry.Render(), "# TYPE a gauge\na 1\n");
  EXPECT_EQ(registry.Render(), "# TYPE a gauge\na 1\n# TYPE b_total counter\nb_total 0\n");
}

TEST(MetricsRegistry, MalformedCallbackSamplesFailTheRender) {
  MetricsRegistry wrong_count;
  wrong_count.GaugeCallback("g", "", {"status"}, [] { return GaugeSamples{{{"a", "b"}, 1}}; });
  EXPECT_THROW(wrong_count.Render(), std::invalid_argument);

  MetricsRegistry duplicate;
  duplicate.GaugeCallback("g", "", {"status"}, [] { return GaugeSamples{{{"a"}, 1}, {{"a"}, 2}}; });
  EXPECT_THROW(duplicate.Render(), std::invalid_argument);
}

TEST(MetricsRegistry, SameRegistrationReturnsTheSameFamily) {
  MetricsRegistry registry;
  auto& first = registry.Counter("x_total", "X.", {"a", "b"});
  Counter& series = first.With({"1", "2"});
  auto& second = registry.Counter("x_total", "Other help is ignored.", {"a", "b"});
  EXPECT_EQ(&first, &second);
  for (int i = 0; i < 1000; ++i) second.With({"1", std::to_string(i)});  // grow the map
  EXPECT_EQ(&second.With({"1", "2"}), &series);
  EXPECT_NE(registry.Render().find("# HELP x_total X.\n"), std::string::npos);

  auto& h1 = registry.Histogram("h", "", {"route"}, kLatencyBuckets);
  auto& h2 = registry.Histogram("h", "", {"route"}, kLatencyBuckets);
  EXPECT_EQ(&h1, &h2);
}

TEST(MetricsRegistry, ConflictingRegistrationIsALogicError) {
  MetricsRegistry registry;
  registry.Counter("x_total", "", {"a"});
  EXPECT_THROW(registry.Gauge("x_total", "", {"a"}), std::logic_error);
  EXPECT_THROW(registry.Counter("x_total", "", {"b"}), std::logic_error);
  EXPECT_THROW(registry.Counter("x_total", "", {"a", "b"}), std::logic_error);
  EXPECT_THROW(registry.Counter("x_total", "", {}), std::logic_error);
  EXPECT_THROW(registry.GaugeCallback("x_total", "", {"a"}, [] { return GaugeSamples{}; }),
               std::logic_error);

  registry.Histogram("h", "", {}, kThreeBuckets);
  EXPECT_THROW(registry.Histogram("h", "", {}, kLatencyBuckets), std::logic_error);
  // A histogram owns its _bucket, _sum and _count sample names.
  EXPECT_THROW(registry.Gauge("h_count", ""), std::logic_error);
  registry.Counter("y_sum", "");
  EXPECT_THROW(registry.Histogram("y", "", {}, kThreeBuckets), std::logic_error);

  registry.GaugeCallback("cb", "", {}, [] { return GaugeSamples{}; });
  EXPECT_THROW(registry.Gauge("cb", ""), std::logic_error);
  EXPECT_THROW(registry.GaugeCallback("cb", "", {}, [] { return GaugeSamples{}; }),
               std::logic_error);
}

TEST(MetricsRegistry, MalformedNamesLabelsAndBucketsAreRejected) {
  MetricsRegistry registry;
  EXPECT_THROW(registry.Counter("", ""), std::invalid_argument);
  EXPECT_THROW(registry.Counter("1x", ""), std::invalid_argument);
  EXPECT_THROW(registry.Counter("x-y", ""), std::invalid_argument);
  EXPECT_THROW(registry.Counter("x", "", {"__reserved"}), std::invalid_argument);
  EXPECT_THROW(registry.Counter("x", "", {"a:b"}), std::invalid_argument);
  EXPECT_THROW(registry.Counter("x", "", {"a", "a"}), std::invalid_argument);
  EXPECT_THROW(registry.Histogram("x", "", {"le"}, kThreeBuckets), std::invalid_argument);
  EXPECT_THROW(registry.Histogram("x", "", {}, std::vector<double>{}), std::invalid_argument);
  EXPECT_THROW(registry.Histogram("x", "", {}, std::vector<double>{1, 1}), std::invalid_argument);
  EXPECT_THROW(registry.Histogram("x", "", {}, std::vector<double>{2, 1}), std::invalid_argument);
  EXPECT_THROW(registry.Histogram("x", "", {},
                                  std::vector<double>{1, std::numeric_limits<double>::infinity()}),
               std::invalid_argument);
  registry.Counter("ns:x_total", "", {"_ok", "a1"});  // colons and digits are fine where allowed
}

TEST(MetricsRegistry, WrongNumberOfLabelValuesIsInvalidArgument) {
  MetricsRegistry registry;
  auto& family = registry.Counter("x_total", "", {"route", "method"});
  EXPECT_THROW(family.With({"/a"}), std::invalid_argument);
  EXPECT_THROW(family.With({"/a", "GET", "200"}), std::invalid_argument);
  EXPECT_THROW(registry.Gauge("g", "").With({"extra"}), std::invalid_argument);
  EXPECT_EQ(registry.Render(), "# TYPE g gauge\ng 0\n# TYPE x_total counter\n");
}

TEST(Counter, IgnoresNegativeAndNaNIncrements) {
  Counter c;
  c.Inc(2.5);
  c.Inc(-1);
  c.Inc(std::numeric_limits<double>::quiet_NaN());
  EXPECT_EQ(c.Value(), 2.5);
}

TEST(Gauge, SetIncDec) {
  Gauge g;
  g.Set(10);
  g.Inc();
  g.Dec(0.5);
  EXPECT_EQ(g.Value(), 10.5);
}

TEST(MetricsRegistry, ContentTypeIsTextFormatVersion004) {
  EXPECT_EQ(kPrometheusContentType, "text/plain; version=0.0.4; charset=utf-8");
}

}  // namespace
}  // namespace berth
