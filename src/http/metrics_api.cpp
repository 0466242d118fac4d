#include "http/metrics_api.hpp"

#include <map>

namespace berth::http {
namespace {

constexpr char kConfigRoute[] = "/api/internal/agent-config/:id";

// A counter catching up with a total the manager keeps.
void CatchUp(CounterFamily& counter, int64_t total, int64_t& seen) {
  counter.With({}).Inc(static_cast<double>(total - seen));
  seen = total;
}

}  // namespace

BerthMetrics::BerthMetrics()
    : requests_(registry_.Counter("berth_http_requests_total",
                                  "HTTP requests answered, by route pattern, method and status.",
                                  {"route", "method", "status"})),
      request_seconds_(registry_.Histogram(
          "berth_http_request_duration_seconds",
          "Time from a request's first byte to its answer's last (whole streams included).",
          {"route", "method"}, kLatencyBuckets)),
      config_fetches_(registry_.Counter("berth_config_fetches_total",
                                        "Agent config fetches on the internal endpoint, by status.",
                                        {"status"})),
      starts_(registry_.Counter("berth_agent_starts_total",
                                "Agent starts that ended, by result (ready or failed).",
                                {"result"})),
      start_seconds_(registry_.Histogram("berth_agent_start_duration_seconds",
                                         "Time from an agent start's beginning to its end.",
                                         {"result"}, kStartDurationBuckets)),
      start_failures_(registry_.Counter("berth_agent_start_failures_total",
                                        "Agent starts that failed, by reason.", {"reason"})),
      reaps_(registry_.Counter("berth_agent_reaps_total", "Idle agents stopped by the reaper.")),
      pauses_(registry_.Counter("berth_agent_pauses_total",
                                "Idle agents paused by the reaper (BERTH_IDLE_PAUSE).")),
      health_failures_(registry_.Counter("berth_agent_health_failures_total",
                                         "Failed health probes of running agents.")),
      pool_hits_(registry_.Counter("berth_warm_pool_hits_total",
                                   "Agents that never ran, started by taking a pooled agent.")),
      pool_misses_(registry_.Counter(
          "berth_warm_pool_misses_total",
          "Agents that never ran, started from cold because no pooled agent was ready.")),
      pool_keep_warms_(registry_.Counter(
          "berth_warm_pool_keep_warms_total",
          "Keep-warm rehearsals of idle pooled agents that completed (BERTH_POOL_KEEP_WARM).")) {}

std::function<void(const Request&, unsigned, std::chrono::steady_clock::duration)>
BerthMetrics::RequestObserver() {
  return [this](const Request& request, unsigned status, std::chrono::steady_clock::duration took) {
    const std::string route = request.route.empty() ? "(unmatched)" : request.route;
    const std::string method(MethodLabel(request.raw.method()));
    const std::string code = std::to_string(status);
    requests_.With({route, method, code}).Inc();
    request_seconds_.With({route, method}).Observe(std::chrono::duration<double>(took).count());
    if (request.route == kConfigRoute) config_fetches_.With({code}).Inc();
  };
}

void BerthMetrics::ObserveAgentEvent(const lifecycle::AgentEvent& event) {
  if (event.start_seconds < 0) return;
  const bool ready = event.status == lifecycle::AgentStatus::kRunning;
  const std::string result = ready ? "ready" : "failed";
  starts_.With({result}).Inc();
  start_seconds_.With({result}).Observe(event.start_seconds);
  if (!ready) {
    const auto reason = event.failure.value_or(lifecycle::StartFailure::kOther);
    start_failures_.With({std::string(lifecycle::StartFailureName(reason))}).Inc();
  }
}

void BerthMetrics::Watch(std::shared_ptr<lifecycle::AgentManager> agents) {
  {
    std::lock_guard lock(mu_);
    agents_ = agents;
  }
  WatchPool(agents);
  registry_.GaugeCallback("berth_agents", "Agents (user and system containers) by kind and status.",
                          {"kind", "status"}, [agents]() {
                            GaugeSamples samples;
                            if (!agents->initialized()) return samples;
                            auto list = agents->ListAgents();
                            if (!list.ok()) return samples;
                            std::map<std::pair<std::string, std::string>, double> counts;
                            for (const auto& agent : *list) {
                              const std::string kind =
                                  agent.kind == store::ContainerKind::kUser ? "user" : "system";
                              counts[{kind, std::string(agent.StatusName())}] += 1;
                            }
                            for (const auto& [labels, n] : counts) {
                              samples.push_back({{labels.first, labels.second}, n});
                            }
                            return samples;
                          });
}

void BerthMetrics::WatchPool(std::shared_ptr<lifecycle::AgentManager> agents) {
  registry_.GaugeCallback("berth_warm_pool_agents",
                          "The warm pool: its configured size, and pooled agents ready.", {"state"},
                          [agents]() -> GaugeSamples {
                            const lifecycle::WarmPool& pool = agents->warm_pool();
                            return {{{"configured"}, static_cast<double>(pool.size())},
                                    {{"ready"}, static_cast<double>(pool.ready())}};
                          });
}

void BerthMetrics::Watch(std::shared_ptr<ChatStats> chats) {
  registry_.GaugeCallback("berth_open_streams",
                          "Streams open now: chats in flight and agent event streams.", {},
                          [chats]() -> GaugeSamples {
                            return {{{}, static_cast<double>(chats->open_streams.load())}};
                          });
}

std::string BerthMetrics::Render() {
  {
    // The manager keeps totals; the counters catch up with them at each scrape.
    std::lock_guard lock(mu_);
    if (agents_) {
      CatchUp(reaps_, agents_->reaps_total(), reaps_seen_);
      CatchUp(health_failures_, agents_->health_failures_total(), health_failures_seen_);
      CatchUp(pauses_, agents_->pauses_total(), pauses_seen_);
      CatchUp(pool_hits_, agents_->warm_pool().hits_total(), pool_hits_seen_);
      CatchUp(pool_misses_, agents_->warm_pool().misses_total(), pool_misses_seen_);
      CatchUp(pool_keep_warms_, agents_->warm_pool().keep_warms_total(), pool_keep_warms_seen_);
    }
  }
  return registry_.Render();
}

void RegisterMetricsRoute(Router& router, std::shared_ptr<BerthMetrics> metrics) {
  router.Add(bhttp::verb::get, "/metrics", [metrics](Request&) {
    Response res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, std::string(kPrometheusContentType));
    res.set(bhttp::field::cache_control, "no-store");
    res.body() = metrics->Render();
    return res;
  });
}

}  // namespace berth::http
